#include "agent/process/orphan_reaper.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace cellblock::agent {

namespace {

struct ProcStat {
  char state = '?';
  pid_t parent = 0;
};

// /proc/<pid>/stat is "pid (comm) S ppid …"; comm may hold spaces and parentheses, so parse from the last
// ')'.
bool read_proc_stat(pid_t pid, ProcStat& out) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[512];
  ssize_t size = ::read(fd, buffer, sizeof buffer - 1);
  ::close(fd);
  if (size <= 0) return false;
  std::string text(buffer, static_cast<std::size_t>(size));
  std::size_t close = text.rfind(')');
  if (close == std::string::npos || close + 4 >= text.size()) return false;
  out.state = text[close + 2];
  out.parent = static_cast<pid_t>(std::strtol(text.c_str() + close + 4, nullptr, 10));
  return true;
}

std::vector<pid_t> zombie_children() {
  std::vector<pid_t> zombies;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return zombies;
  pid_t self = ::getpid();
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || pid <= 0) continue;
    ProcStat stat;
    if (read_proc_stat(static_cast<pid_t>(pid), stat) && stat.parent == self && stat.state == 'Z') {
      zombies.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(proc);
  return zombies;
}

}  // namespace

std::size_t reap_orphans(const std::function<bool(pid_t)>& keep) {
  std::size_t reaped = 0;
  for (pid_t pid : zombie_children()) {
    if (keep && keep(pid)) continue;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) ++reaped;
  }
  return reaped;
}

}  // namespace cellblock::agent
