#include "template/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace cellblock::templates {
namespace {

constexpr int kPollIntervalMs = 200;
constexpr int kExecFailed = 127;

// Everything the child needs is prepared before fork(): only async-signal-safe calls may follow it.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string_view current(*entry);
    const auto name = current.substr(0, current.find('=') + 1);
    bool replaced = false;
    for (const auto& override : extra) replaced = replaced || override.starts_with(name);
    if (!replaced) env.emplace_back(current);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

class LineSplitter {
 public:
  explicit LineSplitter(const std::function<void(std::string_view)>& on_line) : on_line_(on_line) {}
  void feed(std::string_view bytes) {
    for (const char c : bytes) {
      if (c == '\n' || c == '\r') {
        flush();
      } else {
        pending_.push_back(c);
      }
    }
  }
  void flush() {
    if (!pending_.empty() && on_line_) on_line_(pending_);
    pending_.clear();
  }

 private:
  const std::function<void(std::string_view)>& on_line_;
  std::string pending_;
};

int exit_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<int> run_command(const std::vector<std::string>& argv,
                        const std::function<void(std::string_view)>& on_line, const CommandOptions& options) {
  if (argv.empty()) return fail(ErrorCode::kInvalidArgument, "empty command");
  auto args = argv;
  auto env = merged_environment(options.extra_env);
  auto arg_pointers = pointers(args);
  auto env_pointers = pointers(env);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return tl::unexpected(system_error("pipe", errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int saved = errno;
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    return tl::unexpected(system_error("fork", saved));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::execvpe(arg_pointers[0], arg_pointers.data(), env_pointers.data());
    const char message[] = "cellblock: cannot execute the build command\n";
    [[maybe_unused]] auto ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
    ::_exit(kExecFailed);
  }
  ::close(pipe_fds[1]);
  ::setpgid(pid, pid);  // also here, so that a cancel right after fork() already reaches the group

  LineSplitter splitter(on_line);
  bool canceled = false;
  char buffer[8192];
  for (;;) {
    if (options.cancel != nullptr && options.cancel->load() && !canceled) {
      canceled = true;
      // The whole group: mmdebstrap's main process ignores SIGTERM while its setup child runs, and that child
      // (and the apt or dpkg below it) unmounts and cleans up when it gets SIGTERM itself.
      ::kill(-pid, SIGTERM);
    }
    pollfd poll_fd{pipe_fds[0], POLLIN, 0};
    const int ready = ::poll(&poll_fd, 1, kPollIntervalMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    splitter.feed(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
  splitter.flush();
  ::close(pipe_fds[0]);

  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return tl::unexpected(system_error("waitpid", errno));
  }
  if (canceled || (options.cancel != nullptr && options.cancel->load())) {
    return fail(ErrorCode::kCanceled, fmt::format("{} was interrupted", argv.front()));
  }
  const int code = exit_status(status);
  if (code == kExecFailed && WIFEXITED(status)) {
    // Either the command is missing or it really exited with 127; say which is likelier.
    if (::access(argv.front().c_str(), X_OK) != 0 && argv.front().find('/') != std::string::npos) {
      return fail(ErrorCode::kNotFound, fmt::format("cannot execute {}", argv.front()));
    }
  }
  return code;
}

}  // namespace cellblock::templates
