#include "sandbox/agent_client.h"

#include <boost/json.hpp>

#include "common/agent_protocol.h"

namespace cellblock::sandbox {
namespace {

namespace json = boost::json;
constexpr auto kControlTimeout = std::chrono::seconds(10);

boost::asio::awaitable<Status> post_init(AgentEndpoint endpoint, json::object body) {
  http::ClientRequest request =
      agent_request(endpoint, "POST", std::string(agent_protocol::kInitPath), agent_protocol::kEnvdPort);
  request.headers.add("Content-Type", "application/json");
  request.body = json::serialize(body);
  http::ClientOptions options = agent_options(endpoint, kControlTimeout);
  options.connect_timeout = kControlTimeout;
  auto response = co_await http::fetch(std::move(request), options);
  if (!response) co_return fail(ErrorCode::kInternal, "the agent's /init: " + response.error().message);
  if ((*response)->status() != 204) {
    co_return fail(ErrorCode::kInternal,
                   "the agent refused /init: HTTP " + std::to_string((*response)->status()));
  }
  co_return Status{};
}

json::value deadline_json(std::optional<std::int64_t> deadline_ms) {
  return deadline_ms ? json::value(*deadline_ms) : json::value(nullptr);
}

}  // namespace

http::ClientRequest agent_request(const AgentEndpoint& endpoint, std::string method, std::string target,
                                  int port) {
  http::ClientRequest request;
  request.method = std::move(method);
  request.url = "http://sandbox" + target;
  request.headers.add(std::string(agent_protocol::kPortHeader), std::to_string(port));
  if (!endpoint.access_token.empty()) {
    request.headers.add(std::string(agent_protocol::kAccessTokenHeader), endpoint.access_token);
  }
  return request;
}

http::ClientOptions agent_options(const AgentEndpoint& endpoint, std::chrono::milliseconds idle_timeout) {
  http::ClientOptions options;
  options.unix_socket = endpoint.socket_path;
  options.connect_timeout = std::chrono::seconds(5);
  options.idle_timeout = idle_timeout;
  return options;
}

boost::asio::awaitable<Status> HttpAgentControl::claim(std::string socket_path, ClaimRequest request) {
  json::object env;
  for (const auto& [key, value] : request.env_vars) env[key] = value;
  json::object body;
  body["envVars"] = std::move(env);
  body["accessToken"] = request.access_token;
  body[agent_protocol::kDeadlineField] = deadline_json(request.deadline_ms);
  AgentEndpoint unclaimed;  // no token yet (g++ 12: no braced temporary inside co_await)
  unclaimed.socket_path = std::move(socket_path);
  co_return co_await post_init(std::move(unclaimed), std::move(body));
}

boost::asio::awaitable<Status> HttpAgentControl::set_deadline(AgentEndpoint endpoint,
                                                              std::optional<std::int64_t> deadline_ms) {
  json::object body;
  body[agent_protocol::kDeadlineField] = deadline_json(deadline_ms);
  co_return co_await post_init(std::move(endpoint), std::move(body));
}

}  // namespace cellblock::sandbox
