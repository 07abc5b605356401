#pragma once
// Who a process runs as and where its relative paths start. Resolved once per request from the RPC's user
// (the `Authorization: Basic <user>:` header or the `username` query) and the agent's settings.

#include <optional>
#include <string>

#include <sys/types.h>

#include "common/error.h"

namespace cellblock::agent {

// Agent-wide user settings (from the command line or POST /init).
struct AgentUsers {
  // Used when a request names no user. Empty means the user the agent itself runs as.
  std::string default_user = "user";
  // Default cwd of processes and base of relative paths. Empty means the user's home.
  std::string default_workdir;
};

struct UserSpec {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
  // Where processes start, and what an empty file path means: the default workdir, or home.
  std::string workdir;
  // Base of relative file paths when set (else the workdir). envd resolves them against the user's home; the
  // default user keeps the default workdir (its home in a sandbox, --workdir standalone), so resolve_user
  // sets this to the home of every other user.
  std::string relative_base;
};

// Looks the user up with getpwnam (`name` absent: the default user). Unknown user → kUnauthenticated (as
// reference envd's auth step). When the agent is not root it can only act as itself: another user →
// kPermissionDenied.
Result<UserSpec> resolve_user(const AgentUsers& users, const std::optional<std::string>& name);

}  // namespace cellblock::agent
