#include "sandbox/agent_client.h"

#include <boost/json.hpp>

#include "common/agent_protocol.h"
#include "common/json_fields.h"

namespace cellblock::sandbox {
namespace {

namespace json = boost::json;
constexpr auto kControlTimeout = std::chrono::seconds(10);
constexpr std::size_t kReplyLimit = 64 * 1024;
constexpr auto kKernelStartTimeout = std::chrono::seconds(60);  // a kernel starts in about a second

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

Error agent_error(int status, std::string_view body) {
  std::string message = "the sandbox answered HTTP " + std::to_string(status);
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    if (std::string_view text = string_field(parsed.as_object(), "message"); !text.empty()) message = text;
  }
  ErrorCode code = status == 404   ? ErrorCode::kNotFound
                   : status == 400 ? ErrorCode::kInvalidArgument
                   : status == 401 ? ErrorCode::kUnauthenticated
                   : status == 507 ? ErrorCode::kNotEnoughSpace
                                   : ErrorCode::kUnavailable;
  return Error{code, std::move(message)};
}

boost::asio::awaitable<Result<std::string>> create_context(AgentEndpoint endpoint, std::string language,
                                                           std::string cwd) {
  http::ClientRequest call = agent_request(endpoint, "POST", "/contexts", agent_protocol::kInterpreterPort);
  call.headers.add("Content-Type", "application/json");
  json::object body;
  body["language"] = std::move(language);
  body["cwd"] = std::move(cwd);
  call.body = json::serialize(body);
  auto response = co_await http::fetch(std::move(call), agent_options(endpoint, kKernelStartTimeout));
  if (!response) co_return tl::unexpected(response.error());
  auto text = co_await (*response)->read_all(kReplyLimit);
  if (!text) co_return tl::unexpected(text.error());
  if ((*response)->status() != 200) {
    Error error = agent_error((*response)->status(), *text);
    co_return fail(error.code, "the sandbox could not start a kernel: " + error.message);
  }
  boost::system::error_code ec;
  json::value reply = json::parse(*text, ec);
  std::string_view id = !ec && reply.is_object() ? string_field(reply.as_object(), "id") : std::string_view();
  if (id.empty())
    co_return fail(ErrorCode::kInternal, "the sandbox answered a new kernel without an id: " + *text);
  co_return std::string(id);
}

boost::asio::awaitable<Status> delete_context(AgentEndpoint endpoint, std::string context_id) {
  http::ClientRequest call =
      agent_request(endpoint, "DELETE", "/contexts/" + context_id, agent_protocol::kInterpreterPort);
  auto response = co_await http::fetch(std::move(call), agent_options(endpoint, kControlTimeout));
  if (!response) co_return tl::unexpected(response.error());
  auto text = co_await (*response)->read_all(kReplyLimit);
  const int status = (*response)->status();
  if (status == 200 || status == 204 || status == 404) co_return Status{};
  co_return tl::unexpected(agent_error(status, text ? *text : std::string()));
}

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
