#include "agent/process/unique_fd.h"

#include <unistd.h>

namespace cellblock::agent {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

}  // namespace cellblock::agent
