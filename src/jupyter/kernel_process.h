#pragma once
// A kernel's operating-system process (jupyter.md §1.3, §7): spawned in its own session so that one signal
// reaches everything it started, with clean signal state, its own stdout/stderr appended to a log, and a
// pidfd that becomes readable when it exits.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cellblock::jupyter {

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] absolute, or looked up on PATH
  // Added to (and overriding) the agent's environment, after the kernel defaults (JPY_PARENT_PID,
  // PYDEVD_DISABLE_FILE_VALIDATION=1, MPLBACKEND removed).
  std::vector<std::pair<std::string, std::string>> env;
  std::string cwd;       // "" keeps the agent's working directory
  std::string log_path;  // the kernel's stdout and stderr are appended here
};

// Replaces every "{connection_file}" inside the argv template (kernelspec convention).
std::vector<std::string> substitute_connection_file(const std::vector<std::string>& argv_template,
                                                    const std::string& connection_file);

// Owns one spawned kernel process and its process group. Destroying a running process kills its group and
// reaps it.
class KernelProcess {
 public:
  static Result<KernelProcess> spawn(const SpawnOptions& options);

  KernelProcess(KernelProcess&& other) noexcept;
  KernelProcess& operator=(KernelProcess&& other) noexcept;
  KernelProcess(const KernelProcess&) = delete;
  KernelProcess& operator=(const KernelProcess&) = delete;
  ~KernelProcess();

  pid_t pid() const { return pid_; }
  // Readable (POLLIN) once the process has exited; owned by this object.
  int pidfd() const { return pidfd_; }
  bool running() const { return pid_ > 0; }

  // SIGINT to the whole process group (the "signal" interrupt mode).
  Status interrupt();
  // Waits up to `timeout` for the process to exit by itself; reaps it if it did.
  bool wait_exit(std::chrono::milliseconds timeout);
  // SIGTERM to the group, SIGKILL after `grace`, then reap. Leftover group members are killed too.
  void terminate(std::chrono::milliseconds grace);
  // After the pidfd became readable: kill what is left of the group, reap, and describe how it ended
  // (e.g. "exit status 1", "killed by signal 9").
  std::string reap();

 private:
  KernelProcess(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  void release();

  pid_t pid_ = -1;
  int pidfd_ = -1;
};

}  // namespace cellblock::jupyter
