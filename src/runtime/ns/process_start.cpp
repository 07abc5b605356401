#include "runtime/ns/process_start.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>

namespace cellblock::runtime::ns {

void HandshakePipes::close_all() {
  for (int* fd : {&release_read, &release_write, &report_read, &report_write}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

ExecPlan prepare_exec(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      int stdout_fd, int stderr_fd) {
  ExecPlan plan;
  plan.argv_storage = argv;
  plan.env_storage = env;
  for (auto& arg : plan.argv_storage) plan.argv.push_back(arg.data());
  plan.argv.push_back(nullptr);
  for (auto& entry : plan.env_storage) plan.env.push_back(entry.data());
  plan.env.push_back(nullptr);
  plan.stdout_fd = stdout_fd;
  plan.stderr_fd = stderr_fd;
  return plan;
}

Result<HandshakePipes> open_handshake_pipes() {
  HandshakePipes pipes;
  int release[2];
  int report[2];
  if (::pipe2(release, O_CLOEXEC) != 0)
    return tl::unexpected(system_error("creating the release pipe", errno));
  if (::pipe2(report, O_CLOEXEC) != 0) {
    int saved = errno;
    ::close(release[0]);
    ::close(release[1]);
    return tl::unexpected(system_error("creating the report pipe", saved));
  }
  pipes.release_read = release[0];
  pipes.release_write = release[1];
  pipes.report_read = report[0];
  pipes.report_write = report[1];
  return pipes;
}

int choose_disk_fd(const std::vector<int>& inherited_fds, int report_fd) {
  int fd = 3;
  while (fd == report_fd ||
         std::find(inherited_fds.begin(), inherited_fds.end(), fd) != inherited_fds.end()) {
    ++fd;
  }
  return fd;
}

Result<pid_t> clone_into_namespaces(std::uint64_t namespaces) {
  struct clone_args args {};
  args.flags = namespaces;
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) {
    return tl::unexpected(
        system_error("clone3 into new namespaces (the server must run as root on Linux 5.3+)", errno));
  }
  return static_cast<pid_t>(pid);
}

Status release_child(int release_write_fd) {
  char go = 'g';
  if (::write(release_write_fd, &go, 1) != 1)
    return tl::unexpected(system_error("releasing the sandbox", errno));
  return {};
}

Result<std::optional<ChildReport>> wait_for_exec(int report_read_fd) {
  ChildReport report;
  for (;;) {
    // The containment steps take milliseconds; a child that reports nothing for this long is stuck.
    pollfd pfd{report_read_fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, 30'000);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0)
      return fail(ErrorCode::kDeadlineExceeded, "sandbox start: the sandbox process hung during set-up");
    ssize_t n = ::read(report_read_fd, &report, sizeof report);
    if (n == 0) return std::optional<ChildReport>();
    if (n == static_cast<ssize_t>(sizeof report)) return std::optional<ChildReport>(report);
    if (n < 0 && errno == EINTR) continue;
    return fail(ErrorCode::kInternal, "sandbox start: short report from the sandbox process");
  }
}

namespace {

struct StatFields {
  char state = '?';
  std::uint64_t start_time = 0;
};

std::optional<StatFields> read_stat(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(line.substr(close + 1));
  StatFields result;
  fields >> result.state;  // field 3
  std::string skip;
  for (int field = 4; field < 22; ++field) fields >> skip;
  if (!(fields >> result.start_time)) return std::nullopt;
  return result;
}

}  // namespace

std::optional<std::uint64_t> process_start_time(pid_t pid) {
  auto stat = read_stat(pid);
  if (!stat) return std::nullopt;
  return stat->start_time;
}

bool same_process(pid_t pid, std::uint64_t start_time) {
  auto stat = read_stat(pid);
  return stat && stat->start_time == start_time;
}

bool process_running(pid_t pid, std::uint64_t start_time) {
  auto stat = read_stat(pid);
  return stat && stat->start_time == start_time && stat->state != 'Z' && stat->state != 'X';
}

void close_parent_ends(const ExecPlan& plan) {
  for (int fd : plan.parent_ends) {
    if (fd >= 0) ::close(fd);
  }
}

StepResult wait_for_release(int release_fd) {
  char go = 0;
  for (;;) {
    ssize_t n = ::read(release_fd, &go, 1);
    if (n == 1) break;
    if (n < 0 && errno == EINTR) continue;
    // EOF: the parent died or gave up before the set-up was complete.
    return step_failed(ContainStep::kWaitRelease, n == 0 ? ECANCELED : errno);
  }
  ::close(release_fd);
  return step_ok();
}

StepResult prepare_stdio(const ExecPlan& plan, int disk_fd) {
  int null = ::open("/dev/null", O_RDWR);
  if (null < 0) return step_failed(ContainStep::kStdio, errno, "/dev/null");
  int out = plan.stdout_fd >= 0 ? plan.stdout_fd : null;
  int err = plan.stderr_fd >= 0 ? plan.stderr_fd : null;
  if (::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) {
    return step_failed(ContainStep::kStdio, errno, "dup2");
  }
  // Nothing else of the server may leak into the sandbox: every other descriptor closes at execve (the report
  // pipe too, which is how the parent learns that execve succeeded).
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0)
    return step_failed(ContainStep::kStdio, errno, "close_range");
  for (int fd : plan.inherited_fds) {
    if (::fcntl(fd, F_SETFD, 0) != 0) return step_failed(ContainStep::kStdio, errno, "inherited descriptor");
  }
  if (disk_fd == plan.disk_fd) {
    if (::fcntl(disk_fd, F_SETFD, 0) != 0)
      return step_failed(ContainStep::kStdio, errno, "writable-layer descriptor");
  } else {
    if (::dup3(disk_fd, plan.disk_fd, 0) < 0)
      return step_failed(ContainStep::kStdio, errno, "writable-layer descriptor");
    ::close(disk_fd);
  }
  return step_ok();
}

StepResult reset_signals() {
  // The server ignores SIGPIPE and its threads may block signals; PID 1 must start from the defaults.
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) {
    if (signal == SIGKILL || signal == SIGSTOP) continue;
    ::sigaction(signal, &action, nullptr);  // fails harmlessly for the signals glibc reserves
  }
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) return step_failed(ContainStep::kSignals, errno);
  return step_ok();
}

StepResult exec_pid1(const ExecPlan& plan) {
  ::execve(plan.argv[0], plan.argv.data(), plan.env.data());
  return step_failed(ContainStep::kExec, errno, plan.argv[0]);
}

void report_and_exit(int report_fd, const StepResult& failure) {
  ChildReport report = make_report(failure);
  ssize_t ignored = ::write(report_fd, &report, sizeof report);
  (void)ignored;
  ::_exit(127);
}

}  // namespace cellblock::runtime::ns
