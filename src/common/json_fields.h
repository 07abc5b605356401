#pragma once
// Non-throwing accessors for JSON objects read from peers (LLM providers, the sandbox agent): a field that is
// absent or of another type reads as empty, and the caller decides whether that is an error.

#include <cstdint>
#include <optional>
#include <string_view>

#include <boost/json.hpp>

namespace cellblock {

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

}  // namespace cellblock
