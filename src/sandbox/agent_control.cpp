#include "sandbox/agent_control.h"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <boost/json.hpp>

#include "http/client.h"

namespace cellblock::sandbox {

Status wait_for_agent(const std::string& ready_file, std::chrono::milliseconds timeout,
                      const std::function<bool()>& still_alive) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  struct stat st {};
  while (::stat(ready_file.c_str(), &st) != 0) {
    if (!still_alive()) return fail(ErrorCode::kInternal, "the sandbox's agent exited during start-up");
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(ErrorCode::kDeadlineExceeded,
                  "the sandbox's agent was not ready within " + std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {};
}

boost::asio::awaitable<Status> init_agent(std::string socket_path, std::map<std::string, std::string> env,
                                          std::string access_token) {
  boost::json::object env_json;
  for (const auto& [key, value] : env) env_json[key] = value;
  boost::json::object body;
  body["envVars"] = std::move(env_json);
  body["accessToken"] = access_token;
  http::ClientRequest request;
  request.method = "POST";
  request.url = "http://sandbox/init";
  request.headers.add("E2b-Sandbox-Port", "49983");
  request.headers.add("Content-Type", "application/json");
  request.body = boost::json::serialize(body);
  http::ClientOptions options;
  options.unix_socket = std::move(socket_path);
  // An agent that does not answer within 10 s is given up on.
  options.connect_timeout = std::chrono::seconds(10);
  options.idle_timeout = std::chrono::seconds(10);
  auto response = co_await http::fetch(std::move(request), options);
  if (!response) co_return fail(ErrorCode::kInternal, "the agent's /init: " + response.error().message);
  if ((*response)->status() != 204) {
    co_return fail(ErrorCode::kInternal,
                   "the agent refused /init: HTTP " + std::to_string((*response)->status()));
  }
  co_return Status{};
}

}  // namespace cellblock::sandbox
