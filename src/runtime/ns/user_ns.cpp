#include "runtime/ns/user_ns.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "runtime/id_shift.h"

namespace cellblock::runtime::ns {

namespace {

Status write_proc_file(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(system_error("opening " + path, errno));
  ssize_t written = ::write(fd, content.data(), content.size());
  int saved = errno;
  ::close(fd);
  if (written != static_cast<ssize_t>(content.size())) {
    return tl::unexpected(system_error("writing " + path + " (is the server running as root?)", saved));
  }
  return {};
}

}  // namespace

Status write_id_maps(pid_t pid) {
  std::string map = "0 " + std::to_string(kSandboxIdBase) + " " + std::to_string(kSandboxIdCount) + "\n";
  std::string proc = "/proc/" + std::to_string(pid);
  if (auto s = write_proc_file(proc + "/uid_map", map); !s) return s;
  return write_proc_file(proc + "/gid_map", map);
}

// Raw system calls: the child comes from a raw clone3, so glibc still believes the server's other threads
// exist, and its setresgid/setgroups/setresuid wrappers would wait forever for those threads to change ids
// too.
StepResult become_root() {
  if (::syscall(SYS_setresgid, 0, 0, 0) != 0)
    return step_failed(ContainStep::kBecomeRoot, errno, "setresgid");
  if (::syscall(SYS_setgroups, 0, nullptr) != 0)
    return step_failed(ContainStep::kBecomeRoot, errno, "setgroups");
  if (::syscall(SYS_setresuid, 0, 0, 0) != 0)
    return step_failed(ContainStep::kBecomeRoot, errno, "setresuid");
  return step_ok();
}

}  // namespace cellblock::runtime::ns
