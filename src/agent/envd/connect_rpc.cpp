#include "agent/envd/connect_rpc.h"

#include <charconv>

#include "common/encoding.h"
#include "http/codec/connect_envelope.h"

namespace cellblock::agent {
namespace {

namespace json = boost::json;

bool has_content_type(const http::Request& request, std::string_view expected) {
  std::string_view type = request.header("Content-Type").value_or("");
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  return http::iequals(type, expected);
}

Result<json::object> parse_message(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "request message is not valid JSON: " + ec.message());
  if (!value.is_object()) return fail(ErrorCode::kInvalidArgument, "request message must be a JSON object");
  return std::move(value.as_object());
}

std::optional<std::chrono::milliseconds> parse_timeout(const http::Request& request) {
  auto text = request.header("Connect-Timeout-Ms");
  if (!text) return std::nullopt;
  std::int64_t ms = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), ms);
  if (ec != std::errc() || end != text->data() + text->size() || ms <= 0) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

// `Authorization: Basic base64("<user>:")` names the user an RPC acts as (e2b-api.md §4.1).
std::optional<std::string> parse_user(const http::Request& request) {
  auto header = request.header("Authorization");
  if (!header || !header->starts_with("Basic ")) return std::nullopt;
  auto decoded = base64_decode(header->substr(6));
  if (!decoded) return std::nullopt;
  std::string user = decoded->substr(0, decoded->find(':'));
  if (user.empty()) return std::nullopt;
  return user;
}

RpcContext make_context(const http::Request& request) {
  RpcContext context{request, parse_timeout(request), std::chrono::seconds(90), parse_user(request)};
  if (auto text = request.header("Keepalive-Ping-Interval")) {
    int seconds = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), seconds);
    if (ec == std::errc() && seconds > 0) context.keepalive_interval = std::chrono::seconds(seconds);
  }
  return context;
}

}  // namespace

asio::awaitable<bool> RpcStream::send(const json::object& message) {
  if (client_gone_) co_return false;
  std::string envelope = http::encode_envelope(0, json::serialize(message));
  if (!co_await writer_.write_chunk(envelope)) client_gone_ = true;
  co_return !client_gone_;
}

asio::awaitable<void> send_rpc_error(http::ResponseWriter& writer, Error error) {
  co_await writer.send(
      http::json_response(http_status(error.code), http::unary_error_body(error.code, error.message)));
}

asio::awaitable<void> serve_unary(http::Request& request, http::BodyReader& body,
                                  http::ResponseWriter& writer, const UnaryMethod& method) {
  if (!has_content_type(request, "application/json")) {
    co_await send_rpc_error(writer, ErrorCode::kUnsupportedMedia,
                            "unary calls need Content-Type: application/json (the JSON codec)");
    co_return;
  }
  auto text = co_await body.read_all(kMaxRpcMessageBytes);
  if (!text) {
    co_await send_rpc_error(writer, text.error());
    co_return;
  }
  // An empty body is the empty message.
  auto message = text->empty() ? Result<json::object>(json::object{}) : parse_message(*text);
  if (!message) {
    co_await send_rpc_error(writer, message.error());
    co_return;
  }
  RpcContext context = make_context(request);
  auto result = co_await method(*message, context);
  if (!result) {
    co_await send_rpc_error(writer, result.error());
    co_return;
  }
  co_await writer.send(http::json_response(200, json::serialize(*result)));
}

asio::awaitable<void> serve_stream(http::Request& request, http::BodyReader& body,
                                   http::ResponseWriter& writer, const StreamMethod& method) {
  if (!has_content_type(request, "application/connect+json")) {
    co_await send_rpc_error(writer, ErrorCode::kUnsupportedMedia,
                            "streaming calls need Content-Type: application/connect+json");
    co_return;
  }
  // Read exactly one envelope: the request message.
  Result<json::object> message = fail(ErrorCode::kInvalidArgument, "the request body holds no envelope");
  {
    auto text = co_await body.read_all(kMaxRpcMessageBytes + 5);
    if (!text) {
      message = tl::unexpected(text.error());
    } else {
      http::EnvelopeDecoder decoder(kMaxRpcMessageBytes);
      Status fed = decoder.feed(*text);
      auto envelope =
          fed ? decoder.next() : Result<std::optional<http::Envelope>>(tl::unexpected(fed.error()));
      if (!envelope) {
        message = tl::unexpected(envelope.error());
      } else if (*envelope) {
        if (decoder.buffered_bytes() > 0) {
          message =
              fail(ErrorCode::kInvalidArgument, "a server-streaming call takes exactly one request envelope");
        } else {
          message = parse_message((*envelope)->payload);
        }
      } else if (auto finished = decoder.finish(); !finished) {
        message = tl::unexpected(finished.error());
      }
    }
  }
  http::Headers headers;
  headers.add("Content-Type", "application/connect+json");
  if (!co_await writer.begin_stream(200, std::move(headers))) co_return;
  Status status = message ? Status{} : Status(tl::unexpected(message.error()));
  RpcStream stream(writer);
  if (status) {
    RpcContext context = make_context(request);
    status = co_await method(*message, context, stream);
  }
  if (stream.client_gone()) co_return;
  std::string end =
      status ? http::end_stream_ok() : http::end_stream_error(status.error().code, status.error().message);
  if (co_await writer.write_chunk(http::encode_envelope(http::kEndStreamFlag, end)))
    co_await writer.end_stream();
}

Status expect_known_fields(const json::object& message, std::initializer_list<std::string_view> fields,
                           std::string_view message_name) {
  for (const auto& [key, value] : message) {
    bool known = false;
    for (auto field : fields) known = known || key == field;
    if (!known) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(message_name) + ": unknown field '" + std::string(key) + "'");
    }
  }
  return {};
}

Result<std::optional<std::string>> optional_string_field(const json::object& message, std::string_view name) {
  auto it = message.find(name);
  if (it == message.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string())
    return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' must be a string");
  return std::optional<std::string>(std::string(it->value().get_string()));
}

Result<std::string> string_field(const json::object& message, std::string_view name, bool required) {
  auto value = optional_string_field(message, name);
  if (!value) return tl::unexpected(value.error());
  if (!*value) {
    if (required) return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' is required");
    return std::string();
  }
  return std::move(**value);
}

Result<std::int64_t> int_field(const json::object& message, std::string_view name, std::int64_t fallback) {
  auto it = message.find(name);
  if (it == message.end() || it->value().is_null()) return fallback;
  const json::value& value = it->value();
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64() && value.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value.get_uint64());
  }
  if (value.is_double()) {
    const double number = value.get_double();
    // Range first: casting an out-of-range double to an integer is undefined behaviour.
    if (number >= -9.2e18 && number <= 9.2e18 &&
        number == static_cast<double>(static_cast<std::int64_t>(number))) {
      return static_cast<std::int64_t>(number);
    }
  }
  if (value.is_string()) {  // protobuf JSON writes 64-bit integers as strings
    std::string_view text = value.get_string();
    std::int64_t parsed = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (ec == std::errc() && end == text.data() + text.size()) return parsed;
  }
  return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' must be an integer");
}

Result<bool> bool_field(const json::object& message, std::string_view name, bool fallback) {
  auto it = message.find(name);
  if (it == message.end() || it->value().is_null()) return fallback;
  if (!it->value().is_bool())
    return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' must be a boolean");
  return it->value().get_bool();
}

Result<std::optional<json::object>> object_field(const json::object& message, std::string_view name) {
  auto it = message.find(name);
  if (it == message.end() || it->value().is_null()) return std::optional<json::object>();
  if (!it->value().is_object())
    return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' must be an object");
  return std::optional<json::object>(it->value().get_object());
}

Result<std::string> bytes_field(const json::object& message, std::string_view name) {
  auto text = optional_string_field(message, name);
  if (!text) return tl::unexpected(text.error());
  if (!*text) return std::string();
  auto decoded = base64_decode(**text);
  if (!decoded)
    return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' is not valid base64");
  return std::move(*decoded);
}

}  // namespace cellblock::agent
