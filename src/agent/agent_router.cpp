#include "agent/agent_router.h"

#include <charconv>

#include "common/agent_protocol.h"
#include "http/proxy.h"

namespace cellblock::agent {
namespace {

void add_cors(http::Headers& headers) {
  headers.set("Access-Control-Allow-Origin", "*");
  headers.set("Access-Control-Expose-Headers", "*");
}

// Decorates a writer with the CORS headers on every response.
class CorsWriter final : public http::ResponseWriter {
 public:
  explicit CorsWriter(http::ResponseWriter& inner) : inner_(inner) {}

  asio::awaitable<bool> send(http::Response response) override {
    add_cors(response.headers);
    return inner_.send(std::move(response));
  }
  asio::awaitable<bool> send_file(int status, http::Headers headers, int fd, std::uint64_t size) override {
    add_cors(headers);
    return inner_.send_file(status, std::move(headers), fd, size);
  }
  asio::awaitable<bool> begin_stream(int status, http::Headers headers) override {
    add_cors(headers);
    return inner_.begin_stream(status, std::move(headers));
  }
  asio::awaitable<bool> begin_sized(int status, http::Headers headers,
                                    std::uint64_t content_length) override {
    add_cors(headers);
    return inner_.begin_sized(status, std::move(headers), content_length);
  }
  asio::awaitable<Result<std::unique_ptr<http::RawStream>>> upgrade(http::Response switching) override {
    add_cors(switching.headers);
    return inner_.upgrade(std::move(switching));
  }
  asio::awaitable<bool> write_chunk(std::string_view data) override { return inner_.write_chunk(data); }
  asio::awaitable<bool> end_stream() override { return inner_.end_stream(); }
  void abort() override { inner_.abort(); }
  asio::awaitable<void> wait_client_closed() override { return inner_.wait_client_closed(); }
  bool started() const override { return inner_.started(); }

 private:
  http::ResponseWriter& inner_;
};

std::optional<int> port_header(const http::Request& request) {
  auto text = request.header(agent_protocol::kPortHeader);
  if (!text) return std::nullopt;
  int port = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), port);
  if (ec != std::errc() || end != text->data() + text->size() || port <= 0 || port > 65535) return -1;
  return port;
}

// Any other port is a server the user started inside the sandbox (a web preview): relay to it on loopback,
// WebSocket upgrades included.
asio::awaitable<void> forward_to_local_port(int port, http::Request& request, http::BodyReader& body,
                                            http::ResponseWriter& writer) {
  http::Upstream upstream;
  upstream.host = "127.0.0.1";
  upstream.port = static_cast<std::uint16_t>(port);
  http::ForwardOptions options;
  options.remove_headers = {std::string(agent_protocol::kSandboxIdHeader),
                            std::string(agent_protocol::kPortHeader),
                            std::string(agent_protocol::kAccessTokenHeader)};
  Status forwarded = co_await http::forward(request, body, writer, upstream, options);
  if (!forwarded && forwarded.error().code == ErrorCode::kSandboxUnavailable && !writer.started()) {
    co_await writer.send(
        http::error_response(ErrorCode::kSandboxUnavailable,
                             "nothing listens on port " + std::to_string(port) + " in the sandbox"));
  }
}

}  // namespace

http::Handler AgentRouter::handler_for(int default_port) {
  return [this, default_port](http::Request& request, http::BodyReader& body,
                              http::ResponseWriter& writer) -> asio::awaitable<void> {
    co_await route(default_port, request, body, writer);
  };
}

asio::awaitable<void> AgentRouter::route(int default_port, http::Request& request, http::BodyReader& body,
                                         http::ResponseWriter& raw_writer) {
  CorsWriter writer(raw_writer);
  if (request.method == "OPTIONS") {
    http::Response response;
    response.status = 204;
    response.headers.add("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
    response.headers.add("Access-Control-Allow-Headers",
                         std::string(request.header("Access-Control-Request-Headers").value_or("*")));
    response.headers.add("Access-Control-Max-Age", "86400");
    co_await writer.send(std::move(response));
    co_return;
  }
  int port = port_header(request).value_or(default_port);
  if (port == agent_protocol::kEnvdPort) {
    co_await envd_.handle(request, body, writer);
  } else if (port == agent_protocol::kInterpreterPort) {
    co_await interpreter_.handle(request, body, writer);
  } else if (port < 0) {
    co_await writer.send(
        http::error_response(ErrorCode::kInvalidArgument, "invalid E2b-Sandbox-Port header"));
  } else if (port == 0) {
    co_await writer.send(
        http::error_response(ErrorCode::kInvalidArgument, "the E2b-Sandbox-Port header is required"));
  } else {
    co_await forward_to_local_port(port, request, body, writer);
  }
}

}  // namespace cellblock::agent
