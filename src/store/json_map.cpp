#include "store/json_map.h"

#include <boost/json.hpp>

namespace cellblock::store {

std::string to_json_object(const StringMap& map) {
  boost::json::object object;
  for (const auto& [key, value] : map) object[key] = value;
  return boost::json::serialize(object);
}

Result<StringMap> from_json_object(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return fail(ErrorCode::kInternal, "stored JSON is malformed: " + ec.message());
  const auto* object = value.if_object();
  if (object == nullptr) return fail(ErrorCode::kInternal, "stored JSON is not an object");
  StringMap map;
  for (const auto& [key, item] : *object) {
    const auto* string = item.if_string();
    if (string == nullptr) return fail(ErrorCode::kInternal, "stored JSON object has a non-string value");
    map.emplace(std::string(key), std::string(*string));
  }
  return map;
}

std::string to_json_array(const std::vector<std::string>& list) {
  boost::json::array array;
  for (const auto& item : list) array.emplace_back(item);
  return boost::json::serialize(array);
}

Result<std::vector<std::string>> from_json_array(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return fail(ErrorCode::kInternal, "stored JSON is malformed: " + ec.message());
  const auto* array = value.if_array();
  if (array == nullptr) return fail(ErrorCode::kInternal, "stored JSON is not an array");
  std::vector<std::string> list;
  for (const auto& item : *array) {
    const auto* string = item.if_string();
    if (string == nullptr) return fail(ErrorCode::kInternal, "stored JSON array has a non-string item");
    list.emplace_back(*string);
  }
  return list;
}

}  // namespace cellblock::store
