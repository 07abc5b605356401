#include "sandbox/agent_control.h"

#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

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
  namespace asio = boost::asio;
  boost::json::object body;
  boost::json::object env_json;
  for (const auto& [key, value] : env) env_json[key] = value;
  body["envVars"] = std::move(env_json);
  body["accessToken"] = access_token;
  const std::string payload = boost::json::serialize(body);
  const std::string request =
      "POST /init HTTP/1.1\r\nHost: sandbox\r\nE2b-Sandbox-Port: 49983\r\n"
      "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
      std::to_string(payload.size()) + "\r\n\r\n" + payload;

  asio::local::stream_protocol::socket socket(co_await asio::this_coro::executor);
  // An agent that does not answer within 10 s gets its socket closed, which fails the pending operation.
  asio::steady_timer guard(socket.get_executor(), std::chrono::seconds(10));
  guard.async_wait([&socket](const boost::system::error_code& ec) {
    if (!ec) socket.close();
  });
  auto [connect_error] = co_await socket.async_connect(asio::local::stream_protocol::endpoint(socket_path),
                                                       asio::as_tuple(asio::use_awaitable));
  if (connect_error) {
    co_return fail(ErrorCode::kInternal,
                   "connecting to the agent at " + socket_path + ": " + connect_error.message());
  }
  auto [write_error, written] =
      co_await asio::async_write(socket, asio::buffer(request), asio::as_tuple(asio::use_awaitable));
  if (write_error) co_return fail(ErrorCode::kInternal, "writing to the agent: " + write_error.message());
  std::string response;
  auto [read_error, read] = co_await asio::async_read_until(socket, asio::dynamic_buffer(response),
                                                            "\r\n\r\n", asio::as_tuple(asio::use_awaitable));
  if (read_error || response.rfind("HTTP/1.1 204", 0) != 0) {
    co_return fail(ErrorCode::kInternal,
                   "the agent refused /init: " +
                       (read_error ? read_error.message() : response.substr(0, response.find('\r'))));
  }
  co_return Status{};
}

}  // namespace cellblock::sandbox
