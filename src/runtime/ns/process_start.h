#pragma once
// Process start: clone3 into fresh namespaces, the release/report pipe handshake, PID 1's stdio, signals and
// execve, and process identity (pid + start time).
//
// Handshake: the child blocks on the release pipe until the parent has written its id maps, rlimits and
// cgroups. The report pipe is close-on-exec: EOF means execve succeeded, a ChildReport means a step failed.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/ns/step.h"

namespace cellblock::runtime::ns {

// Move-only: argv/env point into the storage strings, which a move keeps in place and a copy would not.
struct ExecPlan {
  ExecPlan() = default;
  ExecPlan(ExecPlan&&) = default;
  ExecPlan& operator=(ExecPlan&&) = default;
  ExecPlan(const ExecPlan&) = delete;
  ExecPlan& operator=(const ExecPlan&) = delete;

  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;  // null-terminated views of the storage
  std::vector<char*> env;
  int stdout_fd = -1;
  int stderr_fd = -1;
  int release_fd = -1;             // child's read end
  int report_fd = -1;              // child's write end
  int parent_ends[2] = {-1, -1};   // the parent's pipe ends, closed first thing in the child
  std::vector<int> inherited_fds;  // kept open across execve under the same numbers
  int disk_fd = -1;                // where PID 1 keeps the quota tmpfs open (SandboxHandle::disk_fd)
};

struct HandshakePipes {
  int release_read = -1, release_write = -1;
  int report_read = -1, report_write = -1;
  void close_all();
};

// Parent side.
ExecPlan prepare_exec(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      int stdout_fd, int stderr_fd);
Result<HandshakePipes> open_handshake_pipes();
// The number PID 1 keeps the quota tmpfs under: the lowest above stdio that is neither inherited nor the
// report pipe's write end (which the child needs until execve). Whatever else the child holds there is a
// server descriptor that execve would close anyway.
int choose_disk_fd(const std::vector<int>& inherited_fds, int report_fd);
// clone3 with `namespaces` (CLONE_NEW* flags): the parent gets the child's pid, the child gets 0.
Result<pid_t> clone_into_namespaces(std::uint64_t namespaces);
Status release_child(int release_write_fd);
// Blocks until execve succeeded (nullopt) or the child reported a failed step.
Result<std::optional<ChildReport>> wait_for_exec(int report_read_fd);
// /proc/<pid>/stat field 22 (start time in clock ticks since boot); nullopt when the pid is gone.
std::optional<std::uint64_t> process_start_time(pid_t pid);
// True when /proc/<pid> exists and started at `start_time` (zombies included).
bool same_process(pid_t pid, std::uint64_t start_time);
// Same, and not a zombie: it still runs.
bool process_running(pid_t pid, std::uint64_t start_time);

// Child side.
void close_parent_ends(const ExecPlan& plan);
StepResult wait_for_release(int release_fd);
// Stdio, and every other descriptor closed at execve except the inherited ones and `disk_fd` (open_disk),
// which moves to plan.disk_fd.
StepResult prepare_stdio(const ExecPlan& plan, int disk_fd);
StepResult reset_signals();
StepResult exec_pid1(const ExecPlan& plan);
[[noreturn]] void report_and_exit(int report_fd, const StepResult& failure);

}  // namespace cellblock::runtime::ns
