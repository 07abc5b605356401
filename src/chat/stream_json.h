#pragma once
// Small, non-throwing accessors for the JSON the provider adapters read. Internal to src/chat.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/error.h"

namespace cellblock::chat {

// Parses one SSE data payload that must be a JSON object.
inline Result<boost::json::object> parse_data_object(std::string_view data) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(data, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "invalid JSON in data line (" + ec.message() + ")");
  if (!value.is_object()) return fail(ErrorCode::kInvalidArgument, "data line is JSON but not an object");
  return std::move(value.as_object());
}

// "" when absent or not a string.
inline std::string_view string_field(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  return value->get_string();
}

inline const boost::json::object* object_field(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr ? value->if_object() : nullptr;
}

inline const boost::json::array* array_field(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr ? value->if_array() : nullptr;
}

inline std::optional<std::int64_t> int_field(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64()) return static_cast<std::int64_t>(value->get_uint64());
  return std::nullopt;
}

}  // namespace cellblock::chat
