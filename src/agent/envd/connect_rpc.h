#pragma once
// Connect protocol plumbing for envd's RPC services (e2b-api.md §5.1): unary calls are JSON in, JSON out;
// server streams read one envelope and answer with envelopes, always 200, always ending with an end-stream
// envelope. Service code sees typed JSON objects and returns Result values; this file owns every wire rule.

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "common/error.h"
#include "http/exchange.h"

namespace cellblock::agent {

namespace asio = boost::asio;

// Limits for one RPC request message.
inline constexpr std::size_t kMaxRpcMessageBytes = 4 * 1024 * 1024;

// The sending side of a server stream.
class RpcStream {
 public:
  explicit RpcStream(http::ResponseWriter& writer) : writer_(writer) {}
  // Sends one data envelope; false when the client is gone.
  asio::awaitable<bool> send(const boost::json::object& message);
  // Completes when the client disconnects.
  asio::awaitable<void> wait_client_closed() { return writer_.wait_client_closed(); }
  bool client_gone() const { return client_gone_; }

 private:
  http::ResponseWriter& writer_;
  bool client_gone_ = false;
};

// Call metadata the services use.
struct RpcContext {
  const http::Request& request;
  // Connect-Timeout-Ms, when the client set one.
  std::optional<std::chrono::milliseconds> timeout;
  // Keepalive-Ping-Interval (seconds), default 90 s as reference envd.
  std::chrono::seconds keepalive_interval{90};
  // The user named by `Authorization: Basic base64(user:)`, if any.
  std::optional<std::string> user;
};

using UnaryMethod =
    std::function<asio::awaitable<Result<boost::json::object>>(const boost::json::object&, RpcContext&)>;
// A streaming method returns Status: success ends the stream with `{}`, an error with its Connect error.
using StreamMethod =
    std::function<asio::awaitable<Status>(const boost::json::object&, RpcContext&, RpcStream&)>;

asio::awaitable<void> serve_unary(http::Request& request, http::BodyReader& body,
                                  http::ResponseWriter& writer, const UnaryMethod& method);
asio::awaitable<void> serve_stream(http::Request& request, http::BodyReader& body,
                                   http::ResponseWriter& writer, const StreamMethod& method);
// A unary-style Connect error: HTTP status from the code, body {"code","message"}.
asio::awaitable<void> send_rpc_error(http::ResponseWriter& writer, Error error);
// Builds the error outside the co_await expression (g++ 12 mishandles braced temporaries there).
inline asio::awaitable<void> send_rpc_error(http::ResponseWriter& writer, ErrorCode code,
                                            std::string message) {
  return send_rpc_error(writer, Error{code, std::move(message)});
}

// Field readers with protobuf-JSON leniency (numbers for enums, strings for 64-bit ints) and clear errors.
Status expect_known_fields(const boost::json::object& message, std::initializer_list<std::string_view> fields,
                           std::string_view message_name);
Result<std::string> string_field(const boost::json::object& message, std::string_view name,
                                 bool required = false);
Result<std::optional<std::string>> optional_string_field(const boost::json::object& message,
                                                         std::string_view name);
Result<std::int64_t> int_field(const boost::json::object& message, std::string_view name,
                               std::int64_t fallback = 0);
Result<bool> bool_field(const boost::json::object& message, std::string_view name, bool fallback = false);
// An object field; absent gives nullopt.
Result<std::optional<boost::json::object>> object_field(const boost::json::object& message,
                                                        std::string_view name);
// bytes fields are base64 (standard or URL-safe, padded or not).
Result<std::string> bytes_field(const boost::json::object& message, std::string_view name);

}  // namespace cellblock::agent
