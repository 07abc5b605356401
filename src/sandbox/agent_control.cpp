#include "sandbox/agent_control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include <boost/json.hpp>

namespace cellblock::sandbox {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(system_error("writing to the agent", errno));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

}  // namespace

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

Status init_agent(const std::string& socket_path, const std::map<std::string, std::string>& env,
                  const std::string& access_token) {
  boost::json::object body;
  boost::json::object env_json;
  for (const auto& [key, value] : env) env_json[key] = value;
  body["envVars"] = std::move(env_json);
  body["accessToken"] = access_token;
  const std::string payload = boost::json::serialize(body);

  Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return tl::unexpected(system_error("socket", errno));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(address.sun_path)) {
    return fail(ErrorCode::kInternal, "socket path too long: " + socket_path);
  }
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return tl::unexpected(system_error("connecting to the agent at " + socket_path, errno));
  }
  std::string request =
      "POST /init HTTP/1.1\r\nHost: sandbox\r\nE2b-Sandbox-Port: 49983\r\n"
      "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
      std::to_string(payload.size()) + "\r\n\r\n" + payload;
  if (auto ok = write_all(fd.get(), request); !ok) return ok;

  std::string response;
  char buffer[1024];
  for (;;) {
    pollfd pfd{fd.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, 10000);
    if (ready == 0) return fail(ErrorCode::kDeadlineExceeded, "the agent did not answer /init");
    if (ready < 0 && errno == EINTR) continue;
    ssize_t n = ::recv(fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    response.append(buffer, static_cast<std::size_t>(n));
    if (response.find("\r\n\r\n") != std::string::npos) break;
  }
  if (response.rfind("HTTP/1.1 204", 0) != 0) {
    return fail(ErrorCode::kInternal, "the agent refused /init: " + response.substr(0, response.find('\r')));
  }
  return {};
}

}  // namespace cellblock::sandbox
