#pragma once
// The environment a spawned process sees.

#include <map>
#include <string>
#include <vector>

#include "agent/process/user.h"

namespace cellblock::agent {

inline constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Later layers win: HOME/USER/LOGNAME/PATH of the target user, then the sandbox-level env (E2B's `envVars`),
// then the per-call envs. Returns "KEY=VALUE" strings sorted by key.
std::vector<std::string> build_child_env(const UserSpec& user,
                                         const std::map<std::string, std::string>& sandbox_env,
                                         const std::map<std::string, std::string>& call_env);

}  // namespace cellblock::agent
