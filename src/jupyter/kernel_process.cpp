#include "jupyter/kernel_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <linux/close_range.h>

extern char** environ;

namespace cellblock::jupyter {
namespace {

using Env = std::vector<std::pair<std::string, std::string>>;

void set_env(Env& env, const std::string& name, std::string value) {
  for (auto& entry : env) {
    if (entry.first == name) {
      entry.second = std::move(value);
      return;
    }
  }
  env.emplace_back(name, std::move(value));
}

std::vector<std::string> kernel_environment(const Env& extra) {
  Env env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    auto equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    std::string name(text.substr(0, equals));
    // An inherited MPLBACKEND=Agg silently disables inline plots (jupyter.md §9); only the caller may set it.
    if (name == "MPLBACKEND") continue;
    env.emplace_back(std::move(name), std::string(text.substr(equals + 1)));
  }
  // ipykernel exits when this pid goes away, so kernels never outlive the agent.
  set_env(env, "JPY_PARENT_PID", std::to_string(::getpid()));
  set_env(env, "PYDEVD_DISABLE_FILE_VALIDATION", "1");
  for (const auto& [name, value] : extra) set_env(env, name, value);
  std::vector<std::string> result;
  result.reserve(env.size());
  for (const auto& [name, value] : env) result.push_back(name + "=" + value);
  return result;
}

std::string find_program(const std::string& name, const std::vector<std::string>& env) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
  }
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start);
    candidate = (candidate.empty() ? std::string(".") : candidate) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Runs in the forked child: async-signal-safe calls only. Reports a failure as an errno on `error_fd`.
[[noreturn]] void exec_child(const char* program, char* const* argv, char* const* envp, const char* cwd,
                             int null_fd, int log_fd, int error_fd) {
  // Ignored signals survive exec; ipykernel ignores SIGINT, so its children could never be interrupted
  // otherwise.
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
    if (signal_number == SIGKILL || signal_number == SIGSTOP) continue;
    ::sigaction(signal_number, &default_action, nullptr);  // fails harmlessly for glibc's reserved signals
  }
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);

  int error = 0;
  if (::setsid() < 0) error = errno;
  if (error == 0 && cwd[0] != '\0' && ::chdir(cwd) != 0) error = errno;
  if (error == 0 && (::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0)) error = errno;
  if (error == 0 && ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    // Older kernels: mark descriptors one by one (the error pipe is already close-on-exec).
    rlimit limit{};
    int max_fd =
        (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 65536) ? int(limit.rlim_cur) : 65536;
    for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (error == 0) {
    ::execve(program, argv, envp);
    error = errno;
  }
  [[maybe_unused]] auto ignored = ::write(error_fd, &error, sizeof(error));
  ::_exit(127);
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace

std::vector<std::string> substitute_connection_file(const std::vector<std::string>& argv_template,
                                                    const std::string& connection_file) {
  static constexpr std::string_view kPlaceholder = "{connection_file}";
  std::vector<std::string> argv = argv_template;
  for (auto& argument : argv) {
    for (auto at = argument.find(kPlaceholder); at != std::string::npos;
         at = argument.find(kPlaceholder, at + connection_file.size())) {
      argument.replace(at, kPlaceholder.size(), connection_file);
    }
  }
  return argv;
}

Result<KernelProcess> KernelProcess::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return fail(ErrorCode::kInvalidArgument, "kernel argv is empty");
  // Everything the child needs is prepared before fork: the agent is multi-threaded, so the child may not
  // allocate.
  std::vector<std::string> env = kernel_environment(options.env);
  std::vector<std::string> argv = options.argv;
  const std::string program = find_program(argv[0], env);
  std::vector<char*> argv_pointers = c_strings(argv);
  std::vector<char*> env_pointers = c_strings(env);

  int log_fd = ::open(options.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return tl::unexpected(system_error("open kernel log " + options.log_path, errno));
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null_fd < 0) {
    int error = errno;
    ::close(log_fd);
    return tl::unexpected(system_error("open /dev/null", error));
  }
  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    int error = errno;
    ::close(log_fd);
    ::close(null_fd);
    return tl::unexpected(system_error("pipe2", error));
  }

  pid_t pid = ::fork();
  if (pid == 0) {
    exec_child(program.c_str(), argv_pointers.data(), env_pointers.data(), options.cwd.c_str(), null_fd,
               log_fd, error_pipe[1]);
  }
  int fork_error = errno;
  ::close(error_pipe[1]);
  ::close(log_fd);
  ::close(null_fd);
  if (pid < 0) {
    ::close(error_pipe[0]);
    return tl::unexpected(system_error("fork kernel", fork_error));
  }

  // EOF on the close-on-exec pipe means exec succeeded; otherwise the child sent its errno.
  int child_error = 0;
  ssize_t n;
  do {
    n = ::read(error_pipe[0], &child_error, sizeof(child_error));
  } while (n < 0 && errno == EINTR);
  ::close(error_pipe[0]);
  if (n == sizeof(child_error)) {
    ::waitpid(pid, nullptr, 0);
    return tl::unexpected(system_error("start kernel " + program, child_error));
  }

  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int error = errno;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return tl::unexpected(system_error("pidfd_open", error));
  }
  return KernelProcess(pid, pidfd);
}

KernelProcess::KernelProcess(KernelProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::exchange(other.pidfd_, -1)) {}

KernelProcess& KernelProcess::operator=(KernelProcess&& other) noexcept {
  if (this != &other) {
    if (running()) terminate(std::chrono::milliseconds(0));
    release();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
  }
  return *this;
}

KernelProcess::~KernelProcess() {
  if (running()) terminate(std::chrono::milliseconds(0));
  release();
}

void KernelProcess::release() {
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
  pid_ = -1;
}

Status KernelProcess::interrupt() {
  if (!running()) return fail(ErrorCode::kConflict, "kernel process is not running");
  if (::killpg(pid_, SIGINT) != 0)
    return tl::unexpected(system_error("interrupt kernel process group", errno));
  return {};
}

bool KernelProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (!running()) return true;
  pollfd item{pidfd_, POLLIN, 0};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int rc = ::poll(&item, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (rc > 0) {
      reap();
      return true;
    }
    if (rc == 0) return false;
    if (errno != EINTR) return false;
  }
}

void KernelProcess::terminate(std::chrono::milliseconds grace) {
  if (!running()) return;
  if (grace.count() > 0) {
    ::killpg(pid_, SIGTERM);
    if (wait_exit(grace)) return;
  }
  ::killpg(pid_, SIGKILL);
  reap();
}

std::string KernelProcess::reap() {
  if (!running()) return "not running";
  // The group id stays reserved until the leader is reaped, so this cannot hit an unrelated group.
  ::killpg(pid_, SIGKILL);
  int status = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &status, 0);
  } while (rc < 0 && errno == EINTR);
  std::string description = rc == pid_ ? describe_wait_status(status) : "exit status unknown";
  release();
  return description;
}

}  // namespace cellblock::jupyter
