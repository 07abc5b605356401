#include "agent/process/child_env.h"

namespace cellblock::agent {

std::vector<std::string> build_child_env(const UserSpec& user,
                                         const std::map<std::string, std::string>& sandbox_env,
                                         const std::map<std::string, std::string>& call_env) {
  std::map<std::string, std::string> merged{
      {"HOME", user.home}, {"USER", user.name}, {"LOGNAME", user.name}, {"PATH", kDefaultPath}};
  for (const auto& [key, value] : sandbox_env) merged[key] = value;
  for (const auto& [key, value] : call_env) merged[key] = value;

  std::vector<std::string> entries;
  entries.reserve(merged.size());
  for (const auto& [key, value] : merged) {
    // A key with '=' or NUL cannot be represented in envp; execve would misparse it.
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos) continue;
    entries.push_back(key + "=" + value);
  }
  return entries;
}

}  // namespace cellblock::agent
