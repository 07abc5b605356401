#include "jupyter/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>

#include "common/encoding.h"

namespace cellblock::jupyter {
namespace {

class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<int> bound_port(int fd, const std::string& ip) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  if (::inet_pton(AF_INET, ip.c_str(), &address.sin_addr) != 1) {
    return fail(ErrorCode::kInvalidArgument, "kernel ip is not an IPv4 address: " + ip);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return tl::unexpected(system_error("bind a free port on " + ip, errno));
  }
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return tl::unexpected(system_error("getsockname", errno));
  }
  return ntohs(address.sin_port);
}

}  // namespace

std::string ConnectionInfo::endpoint(int port) const {
  return transport + "://" + ip + ":" + std::to_string(port);
}

boost::json::object ConnectionInfo::to_json() const {
  return {{"transport", transport},
          {"ip", ip},
          {"shell_port", shell_port},
          {"iopub_port", iopub_port},
          {"stdin_port", stdin_port},
          {"control_port", control_port},
          {"hb_port", hb_port},
          {"signature_scheme", signature_scheme},
          {"key", key}};
}

std::string generate_key() {
  return random_hex(4) + "-" + random_hex(12);
}

Result<ConnectionInfo> make_connection_info(const std::string& ip) {
  ConnectionInfo info;
  info.ip = ip;
  info.key = generate_key();
  // All five sockets stay bound until every port is known, so the ports are distinct.
  std::array<int*, 5> ports = {&info.shell_port, &info.iopub_port, &info.stdin_port, &info.control_port,
                               &info.hb_port};
  std::array<std::unique_ptr<ScopedFd>, 5> sockets;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    sockets[i] = std::make_unique<ScopedFd>(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (sockets[i]->get() < 0) return tl::unexpected(system_error("socket", errno));
    auto port = bound_port(sockets[i]->get(), ip);
    if (!port) return tl::unexpected(port.error());
    *ports[i] = *port;
  }
  return info;
}

Status write_connection_file(const ConnectionInfo& info, const std::string& path) {
  const std::string temporary = path + ".tmp";
  const std::string text = boost::json::serialize(info.to_json());
  {
    ScopedFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (fd.get() < 0) return tl::unexpected(system_error("create " + temporary, errno));
    // An existing file keeps its old mode through O_CREAT; the key must not be readable by others.
    if (::fchmod(fd.get(), 0600) != 0) return tl::unexpected(system_error("chmod " + temporary, errno));
    std::size_t written = 0;
    while (written < text.size()) {
      ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return tl::unexpected(system_error("write " + temporary, errno));
      written += static_cast<std::size_t>(n);
    }
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    return tl::unexpected(system_error("rename " + temporary, errno));
  }
  return {};
}

}  // namespace cellblock::jupyter
