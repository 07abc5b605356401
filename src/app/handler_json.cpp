#include "app/handler_json.h"

namespace cellblock::app {

namespace json = boost::json;

boost::asio::awaitable<Result<json::object>> read_json_object(http::BodyReader& body, std::size_t limit) {
  auto text = co_await body.read_all(limit);
  if (!text) co_return tl::unexpected(text.error());
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec) co_return fail(ErrorCode::kInvalidArgument, "the body is not valid JSON (" + ec.message() + ")");
  if (!value.is_object()) co_return fail(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  co_return std::move(value.as_object());
}

std::string_view string_member(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  return value->get_string();
}

json::object ui_message_json(const store::StoredMessage& message) {
  json::object out{{"id", message.id}, {"role", message.role}};
  boost::system::error_code ec;
  json::value parts = json::parse(message.parts_json, ec);
  out["parts"] = ec ? json::value(json::array()) : std::move(parts);
  if (message.metadata_json) {
    json::value metadata = json::parse(*message.metadata_json, ec);
    if (!ec) out["metadata"] = std::move(metadata);
  }
  return out;
}

}  // namespace cellblock::app
