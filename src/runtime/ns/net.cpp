#include "runtime/ns/net.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cellblock::runtime::ns {

StepResult bring_up_loopback() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return step_failed(ContainStep::kLoopback, errno, "socket");
  struct ifreq request {};
  std::memcpy(request.ifr_name, "lo", 3);
  int rc = ::ioctl(fd, SIOCGIFFLAGS, &request);
  if (rc == 0) {
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ::ioctl(fd, SIOCSIFFLAGS, &request);
  }
  int saved = errno;
  ::close(fd);
  if (rc != 0) return step_failed(ContainStep::kLoopback, saved, "lo");
  return step_ok();
}

StepResult set_hostname(const char* hostname) {
  if (::sethostname(hostname, std::strlen(hostname)) != 0) {
    return step_failed(ContainStep::kHostname, errno, hostname);
  }
  return step_ok();
}

}  // namespace cellblock::runtime::ns
