#pragma once
// JSON helpers of the app's handlers. Internal to src/app.

#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "common/error.h"
#include "http/exchange.h"
#include "store/chat_store.h"

namespace cellblock::app {

// Reads a request body that must be a JSON object (kInvalidArgument otherwise, kPayloadTooLarge past
// `limit`).
boost::asio::awaitable<Result<boost::json::object>> read_json_object(http::BodyReader& body,
                                                                     std::size_t limit);

// "" when absent or not a string.
std::string_view string_member(const boost::json::object& object, std::string_view key);

// 204 No Content.
inline http::Response no_content() {
  http::Response response;
  response.status = 204;
  return response;
}

// A stored message as the AI SDK UIMessage {id, role, parts, metadata?}.
boost::json::object ui_message_json(const store::StoredMessage& message);

}  // namespace cellblock::app
