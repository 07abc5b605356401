#include "agent/process/spawn.h"

#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include <fmt/format.h>

namespace cellblock::agent {

namespace {

struct ExecFailure {
  int stage = 0;  // which step of the child setup failed (for the error message)
  int error = 0;
};

const char* stage_name(int stage) {
  static const char* const kNames[] = {"set up the child", "create a session", "attach the terminal",
                                       "redirect stdio",   "drop privileges",  "change directory",
                                       "execute"};
  return stage >= 0 && stage < static_cast<int>(std::size(kNames)) ? kNames[stage] : "start";
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return tl::unexpected(system_error("create a pipe", errno));
  return std::pair<UniqueFd, UniqueFd>{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

// Only async-signal-safe calls from here until exec: the parent may have other threads holding locks.
[[noreturn]] void run_child(const SpawnRequest& request, char* const* argv, char* const* envp, int stdin_fd,
                            int stdout_fd, int stderr_fd, int pty_slave, int report_fd) {
  auto die = [report_fd](int stage) {
    ExecFailure failure{stage, errno};
    [[maybe_unused]] auto written = ::write(report_fd, &failure, sizeof failure);
    ::_exit(127);
  };

  // Undo the agent's signal setup (it ignores SIGPIPE, blocks what its event loop handles).
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signo = 1; signo < NSIG; ++signo) ::sigaction(signo, &default_action, nullptr);
  sigset_t empty;
  ::sigemptyset(&empty);
  if (::sigprocmask(SIG_SETMASK, &empty, nullptr) != 0) die(0);

  if (::setsid() < 0) die(1);
  if (pty_slave >= 0) {
    if (::ioctl(pty_slave, TIOCSCTTY, 0) != 0) die(2);
    stdin_fd = stdout_fd = stderr_fd = pty_slave;
  }
  if (::dup2(stdin_fd, 0) < 0 || ::dup2(stdout_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) die(3);

  if (request.credentials) {
    const Credentials& c = *request.credentials;
    if (::setgroups(c.groups.size(), c.groups.data()) != 0 || ::setgid(c.gid) != 0 || ::setuid(c.uid) != 0)
      die(4);
  }
  if (::chdir(request.cwd.c_str()) != 0) die(5);
  // Nothing but stdio may leak into the child; the report pipe closes on exec too.
  ::syscall(SYS_close_range, 3U, UINT_MAX, CLOSE_RANGE_CLOEXEC);
  ::execve(request.program.c_str(), argv, envp);
  die(6);
  ::_exit(127);
}

}  // namespace

std::vector<gid_t> supplementary_groups(const std::string& user, gid_t gid) {
  int count = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(user.c_str(), gid, groups.data(), &count) < 0) {
    groups.resize(static_cast<std::size_t>(count) + 1);
    count = static_cast<int>(groups.size());
  }
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

Result<std::string> find_executable(const std::string& cmd, const std::vector<std::string>& envp,
                                    const std::string& cwd) {
  if (cmd.empty()) return fail(ErrorCode::kInvalidArgument, "process command is empty");
  if (cmd.find('/') != std::string::npos) {
    std::string path = cmd.front() == '/' ? cmd : cwd + "/" + cmd;
    if (!is_executable_file(path)) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("exec: \"{}\": no such executable file", cmd));
    }
    return path;
  }
  std::string search_path = kDefaultPath;
  for (const auto& entry : envp) {
    if (entry.rfind("PATH=", 0) == 0) search_path = entry.substr(5);
  }
  std::size_t start = 0;
  while (start <= search_path.size()) {
    std::size_t end = search_path.find(':', start);
    if (end == std::string::npos) end = search_path.size();
    std::string dir = search_path.substr(start, end - start);
    if (dir.empty()) dir = cwd;
    std::string candidate = dir + "/" + cmd;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("exec: \"{}\": executable file not found in $PATH", cmd));
}

Result<SpawnedChild> spawn_child(const SpawnRequest& request) {
  SpawnedChild child;
  UniqueFd child_stdin, child_stdout, child_stderr, pty_slave;

  if (request.pty) {
    winsize size{};
    size.ws_col = static_cast<unsigned short>(request.pty->cols);
    size.ws_row = static_cast<unsigned short>(request.pty->rows);
    int master = -1, slave = -1;
    if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0) {
      return tl::unexpected(system_error("open a pseudo-terminal", errno));
    }
    child.pty_master.reset(master);
    pty_slave.reset(slave);
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);
  } else {
    if (request.stdin_open) {
      auto pipe = make_pipe();
      if (!pipe) return tl::unexpected(pipe.error());
      child_stdin = std::move(pipe->first);
      child.stdin_fd = std::move(pipe->second);
    } else {
      child_stdin.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!child_stdin.valid()) return tl::unexpected(system_error("open /dev/null", errno));
    }
    auto out = make_pipe();
    if (!out) return tl::unexpected(out.error());
    auto err = make_pipe();
    if (!err) return tl::unexpected(err.error());
    child.stdout_fd = std::move(out->first);
    child_stdout = std::move(out->second);
    child.stderr_fd = std::move(err->first);
    child_stderr = std::move(err->second);
  }

  auto report = make_pipe();
  if (!report) return tl::unexpected(report.error());
  auto argv = c_strings(request.argv);
  auto envp = c_strings(request.envp);

  pid_t pid = ::fork();
  if (pid < 0) return tl::unexpected(system_error("fork", errno));
  if (pid == 0) {
    run_child(request, argv.data(), envp.data(), child_stdin.get(), child_stdout.get(), child_stderr.get(),
              pty_slave.get(), report->second.get());
  }
  child.pid = pid;
  // Taken before anything can reap the child, so the pidfd refers to this very process.
  child.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  int pidfd_errno = errno;

  // The child's ends must close here, or EOF (and EIO on the PTY) would never arrive.
  report->second.reset();
  child_stdin.reset();
  child_stdout.reset();
  child_stderr.reset();
  pty_slave.reset();

  ExecFailure failure{};
  ssize_t got;
  do {
    got = ::read(report->first.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got == static_cast<ssize_t>(sizeof failure) || !child.pidfd.valid()) {
    if (!child.pidfd.valid()) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!child.pidfd.valid()) return tl::unexpected(system_error("open a pidfd for the child", pidfd_errno));
    Error error =
        system_error(fmt::format("{} '{}'", stage_name(failure.stage), request.program), failure.error);
    error.message = "error starting process: " + error.message;
    return tl::unexpected(std::move(error));
  }
  return child;
}

}  // namespace cellblock::agent
