#include "proxy/sandbox_proxy.h"

#include <charconv>

#include <boost/json.hpp>

#include "common/agent_protocol.h"
#include "common/file_signature.h"
#include "http/proxy.h"

namespace cellblock::proxy {
namespace {

constexpr std::string_view kTrafficTokenHeader = "e2b-traffic-access-token";

std::optional<int> parse_port(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port <= 0 || port > 65535) return std::nullopt;
  return port;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

http::Response sandbox_not_found(const std::string& id) {
  return http::sandbox_error_response(id, Error{ErrorCode::kSandboxUnavailable, "The sandbox was not found"});
}

}  // namespace

std::optional<Target> target_from_host(std::string_view host) {
  if (auto colon = host.rfind(':');
      colon != std::string_view::npos && host.find(']') == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  auto dash = host.find('-');
  auto dot = host.find('.');
  if (dash == std::string_view::npos || dot == std::string_view::npos || dash > dot) return std::nullopt;
  auto port = parse_port(host.substr(0, dash));
  std::string_view id = host.substr(dash + 1, dot - dash - 1);
  if (!port || !valid_id(id)) return std::nullopt;
  return Target{std::string(id), *port};
}

std::optional<Target> target_of(const http::Request& request) {
  if (auto id = request.header(agent_protocol::kSandboxIdHeader)) {
    Target target{std::string(*id), agent_protocol::kEnvdPort};
    if (auto port = request.header(agent_protocol::kPortHeader)) target.port = parse_port(*port).value_or(0);
    return target;
  }
  if (auto host = request.header("Host")) return target_from_host(*host);
  return std::nullopt;
}

bool SandboxProxy::signed_file_request(const http::Request& request) {
  return request.path == "/files" && request.query_value("signature").has_value();
}

std::optional<Target> SandboxProxy::target_by_signature(const http::Request& request) const {
  if (!signed_file_request(request)) return std::nullopt;
  auto signature = request.query_value("signature");
  if (!signature) return std::nullopt;
  std::optional<std::int64_t> expiration;
  if (auto text = request.query_value("signature_expiration")) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc()) return std::nullopt;
    expiration = value;
  }
  const std::string_view operation = request.method == "GET" ? "read" : "write";
  const std::string path(request.query_value("path").value_or(""));
  const std::string username(request.query_value("username").value_or(""));
  for (const auto& [id, route] : sandboxes_.routes()) {
    if (secure_equals(*signature,
                      file_signature(path, operation, username, route.access_token, expiration))) {
      return Target{id, agent_protocol::kEnvdPort};
    }
  }
  return std::nullopt;
}

// allowPublicTraffic: false: every port but envd's needs the sandbox's traffic token (E2B's 403 otherwise).
// Not a coroutine: g++ 12 mishandles temporaries inside a co_await expression.
std::optional<http::Response> SandboxProxy::traffic_token_refusal(const Target& target,
                                                                  const http::Request& request) const {
  if (target.port == agent_protocol::kEnvdPort) return std::nullopt;
  const std::string required = sandboxes_.traffic_token(target.sandbox_id);
  if (required.empty()) return std::nullopt;
  auto given = request.header(kTrafficTokenHeader);
  if (given && secure_equals(*given, required)) return std::nullopt;
  std::string message = given ? "Sandbox is secured with traffic access token. Provided token in header "
                                "'e2b-traffic-access-token' is invalid"
                              : "Sandbox is secured with traffic access token. Token header "
                                "'e2b-traffic-access-token' is missing";
  return http::sandbox_error_response(target.sandbox_id,
                                      Error{ErrorCode::kPermissionDenied, std::move(message)});
}

asio::awaitable<void> SandboxProxy::serve(const Target& target, http::Request& request,
                                          http::BodyReader& body, http::ResponseWriter& writer) {
  if (!valid_id(target.sandbox_id)) {
    co_await writer.send(sandbox_not_found(target.sandbox_id));
    co_return;
  }
  // Before anything else: a paused sandbox is not woken for a request without its traffic token.
  if (auto refusal = traffic_token_refusal(target, request)) {
    co_await writer.send(std::move(*refusal));
    co_return;
  }
  auto route = sandboxes_.route(target.sandbox_id);
  if (!route) {
    // Not running: a paused sandbox with auto-resume wakes up for envd traffic that carries its token, and
    // for any other port (E2B's traffic is public by default).
    std::optional<std::string_view> token;
    if (target.port == agent_protocol::kEnvdPort) {
      token = request.header(agent_protocol::kAccessTokenHeader).value_or(std::string_view());
    }
    auto woken = co_await sandboxes_.wake(target.sandbox_id, token);
    if (!woken) {
      co_await writer.send(http::sandbox_error_response(target.sandbox_id, woken.error()));
      co_return;
    }
    route = std::move(*woken);
  }
  if (target.port <= 0) {
    co_await writer.send(
        http::error_response(ErrorCode::kInvalidArgument, "invalid E2b-Sandbox-Port header"));
    co_return;
  }
  if (agent_protocol::server_only_route(target.port, request.path)) {
    co_await writer.send(http::error_response(ErrorCode::kNotFound, "no route for " + request.path));
    co_return;
  }
  http::Upstream upstream;
  upstream.unix_path = route->socket_path;
  http::ForwardOptions options;
  options.add_headers.set(agent_protocol::kPortHeader, std::to_string(target.port));
  options.add_headers.set(agent_protocol::kSandboxIdHeader, target.sandbox_id);
  if (route->mask_request_host && target.port != agent_protocol::kEnvdPort) {
    std::string host = *route->mask_request_host;
    if (auto at = host.find("${PORT}"); at != std::string::npos)
      host.replace(at, 7, std::to_string(target.port));
    options.add_headers.set("Host", host);
  }
  options.abort = route->abort;
  Status forwarded = co_await http::forward(request, body, writer, upstream, options);
  if (!forwarded && forwarded.error().code == ErrorCode::kSandboxUnavailable && !writer.started()) {
    co_await writer.send(sandbox_not_found(target.sandbox_id));
  }
}

}  // namespace cellblock::proxy
