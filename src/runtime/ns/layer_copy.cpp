#include "runtime/ns/layer_copy.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "common/disk_usage.h"
#include "common/unique_fd.h"

namespace cellblock::runtime::ns {

namespace {

// Debian's coreutils; /bin is /usr/bin on merged-/usr systems and holds cp on the others.
constexpr const char* kCopyProgram = "/bin/cp";
// cp reaches the source through its own descriptor 3, opened and checked by the runtime, not by a path.
constexpr int kSourceFdInChild = 3;
constexpr std::size_t kStderrKept = 2048;

struct CopyOutcome {
  int status = 0;
  std::string stderr_text;
};

// Runs cp with nothing of the server but the source descriptor, and collects what it says on stderr.
Result<CopyOutcome> run_copy(int source_fd, const std::string& target) {
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return tl::unexpected(system_error("creating a pipe for cp", errno));
  UniqueFd err_read(err_pipe[0]);
  // The descriptors the actions below copy from sit above the numbers they fill (0-3), so no action
  // overwrites another's source even in a server started without standard streams.
  UniqueFd err_write(::fcntl(err_pipe[1], F_DUPFD_CLOEXEC, kSourceFdInChild + 1));
  ::close(err_pipe[1]);
  UniqueFd source_copy(::fcntl(source_fd, F_DUPFD_CLOEXEC, kSourceFdInChild + 1));
  if (!err_write.valid() || !source_copy.valid()) {
    return tl::unexpected(system_error("duplicating descriptors for cp", errno));
  }

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attributes);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  ::posix_spawn_file_actions_adddup2(&actions, source_copy.get(), kSourceFdInChild);
  // Server descriptors are close-on-exec already; this also covers any that are not.
  ::posix_spawn_file_actions_addclosefrom_np(&actions, kSourceFdInChild + 1);
  // The server ignores SIGPIPE and its threads may block signals: cp starts from the defaults.
  sigset_t all;
  sigset_t none;
  sigfillset(&all);
  sigemptyset(&none);
  ::posix_spawnattr_setsigdefault(&attributes, &all);
  ::posix_spawnattr_setsigmask(&attributes, &none);
  ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::string source = "/proc/self/fd/" + std::to_string(kSourceFdInChild) + "/.";
  // --preserve=xattr on top of -a: -a alone ignores attributes it cannot copy.
  const char* argv[] = {kCopyProgram, "--archive",    "--preserve=all,xattr", "--no-target-directory",
                        "--",         source.c_str(), target.c_str(),         nullptr};
  const char* envp[] = {"LC_ALL=C", "PATH=/usr/bin:/bin", nullptr};
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, kCopyProgram, &actions, &attributes, const_cast<char* const*>(argv),
                              const_cast<char* const*>(envp));
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attributes);
  if (spawned != 0) return tl::unexpected(system_error(std::string("starting ") + kCopyProgram, spawned));
  err_write.reset();

  // Drained to the end, so cp never blocks on a full pipe; only the start is kept for the error message.
  CopyOutcome outcome;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(err_read.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::size_t room = kStderrKept - std::min(kStderrKept, outcome.stderr_text.size());
    outcome.stderr_text.append(buffer, std::min(room, static_cast<std::size_t>(n)));
  }
  while (::waitpid(pid, &outcome.status, 0) < 0) {
    if (errno != EINTR) return tl::unexpected(system_error("waiting for cp", errno));
  }
  while (!outcome.stderr_text.empty() && outcome.stderr_text.back() == '\n') outcome.stderr_text.pop_back();
  return outcome;
}

Error copy_failed(const std::string& what, const CopyOutcome& outcome) {
  std::string how = WIFEXITED(outcome.status) ? "exit status " + std::to_string(WEXITSTATUS(outcome.status))
                                              : "signal " + std::to_string(WTERMSIG(outcome.status));
  bool full = outcome.stderr_text.find("No space left on device") != std::string::npos;
  return Error{full ? ErrorCode::kNotEnoughSpace : ErrorCode::kInternal,
               what + ": cp failed (" + how + "): " + outcome.stderr_text +
                   "; the destination's file system needs room for the layer and must support extended "
                   "attributes (user.*, security.*)"};
}

Status sync_file_system(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::syncfs(fd.get()) != 0) return tl::unexpected(system_error("flushing " + dir, errno));
  return {};
}

}  // namespace

void remove_layer_tree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

Status copy_tree_into(int source_fd, const std::string& target, const std::string& what) {
  auto outcome = run_copy(source_fd, target);
  if (!outcome) return tl::unexpected(outcome.error());
  if (!WIFEXITED(outcome->status) || WEXITSTATUS(outcome->status) != 0) {
    return tl::unexpected(copy_failed(what, *outcome));
  }
  return {};
}

Result<std::uint64_t> publish_layer(const std::string& partial, const std::string& dest) {
  // On disk before it is published, so a crash cannot leave a complete-looking layer whose files were never
  // written: a paused sandbox has no other copy of them.
  if (auto synced = sync_file_system(partial); !synced) {
    remove_layer_tree(partial);
    return tl::unexpected(synced.error());
  }
  // The copy appears complete or not at all; an existing dest (even an empty directory) is never replaced.
  if (::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) != 0) {
    int saved = errno;
    remove_layer_tree(partial);
    return tl::unexpected(system_error("renaming " + partial + " to " + dest, saved));
  }
  return disk_usage(dest);
}

Result<std::uint64_t> copy_layer(int source_fd, const std::string& dest) {
  const std::string partial = dest + ".partial";
  // What a copy interrupted by a server crash left behind; cp would merge into it.
  remove_layer_tree(partial);
  if (Status copied = copy_tree_into(source_fd, partial, "saving the writable layer to " + dest); !copied) {
    remove_layer_tree(partial);
    return tl::unexpected(copied.error());
  }
  return publish_layer(partial, dest);
}

}  // namespace cellblock::runtime::ns
