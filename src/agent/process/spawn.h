#pragma once
// Low-level fork/exec of one child in its own session, with pipes or a PTY, returning raw fds and a pidfd.
// Knows nothing about Asio; Process wraps the fds.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "agent/process/child_env.h"
#include "agent/process/process_types.h"
#include "common/error.h"
#include "common/unique_fd.h"

namespace cellblock::agent {

struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

struct SpawnRequest {
  std::string program;            // an executable path (see find_executable)
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> envp;  // "KEY=VALUE"
  std::string cwd;                // absolute
  std::optional<PtySize> pty;
  bool stdin_open = false;
  // Set only when the agent is root and the target user differs: the child drops to it before exec.
  std::optional<Credentials> credentials;
};

struct SpawnedChild {
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd stdin_fd;    // write end; invalid when stdin is /dev/null or with a PTY
  UniqueFd stdout_fd;   // read end; invalid with a PTY
  UniqueFd stderr_fd;   // read end; invalid with a PTY
  UniqueFd pty_master;  // read/write; valid only with a PTY
};

// Looks `cmd` up the way a shell would, in the PATH of the child's environment (a name with '/' is used as
// is, relative to `cwd`). kInvalidArgument when nothing executable is found.
Result<std::string> find_executable(const std::string& cmd, const std::vector<std::string>& envp,
                                    const std::string& cwd);

// Forks and execs. The child: own session (setsid), default signal dispositions, empty signal mask, the PTY
// as controlling terminal, dropped credentials, `cwd`. An exec failure is reported here (through a CLOEXEC
// pipe) and the failed child is reaped.
Result<SpawnedChild> spawn_child(const SpawnRequest& request);

// Supplementary groups of `user` (getgrouplist), computed before fork because NSS is not async-signal-safe.
std::vector<gid_t> supplementary_groups(const std::string& user, gid_t gid);

}  // namespace cellblock::agent
