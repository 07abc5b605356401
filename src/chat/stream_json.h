#pragma once
// Small, non-throwing accessors for the JSON the provider adapters read. Internal to src/chat.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/error.h"
#include "common/json_fields.h"

namespace cellblock::chat {

// Parses one SSE data payload that must be a JSON object.
inline Result<boost::json::object> parse_data_object(std::string_view data) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(data, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "invalid JSON in data line (" + ec.message() + ")");
  if (!value.is_object()) return fail(ErrorCode::kInvalidArgument, "data line is JSON but not an object");
  return std::move(value.as_object());
}

}  // namespace cellblock::chat
