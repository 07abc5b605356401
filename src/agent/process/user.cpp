#include "agent/process/user.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include <fmt/format.h>

namespace cellblock::agent {

namespace {

// getpwnam_r / getpwuid_r need a caller buffer; entries with huge gecos fields need a retry with more room.
template <class Lookup>
Result<std::optional<UserSpec>> lookup_passwd(Lookup&& lookup, std::string_view what) {
  std::vector<char> buffer(4096);
  for (;;) {
    passwd entry{};
    passwd* found = nullptr;
    int rc = lookup(&entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1U << 20)) {
      buffer.resize(buffer.size() * 4);
      continue;
    }
    if (rc != 0 && rc != ENOENT && rc != ESRCH) return tl::unexpected(system_error(what, rc));
    if (found == nullptr) return std::optional<UserSpec>{};
    UserSpec user;
    user.name = entry.pw_name;
    user.uid = entry.pw_uid;
    user.gid = entry.pw_gid;
    user.home = entry.pw_dir != nullptr && entry.pw_dir[0] != '\0' ? entry.pw_dir : "/";
    return std::optional<UserSpec>(std::move(user));
  }
}

}  // namespace

Result<UserSpec> resolve_user(const AgentUsers& users, const std::optional<std::string>& name) {
  std::string wanted = name.value_or(users.default_user);
  uid_t self = ::geteuid();
  Result<std::optional<UserSpec>> found;
  if (wanted.empty()) {
    found = lookup_passwd(
        [&](passwd* e, char* b, size_t n, passwd** r) { return ::getpwuid_r(self, e, b, n, r); },
        "look up the agent's own user");
  } else {
    found = lookup_passwd(
        [&](passwd* e, char* b, size_t n, passwd** r) { return ::getpwnam_r(wanted.c_str(), e, b, n, r); },
        fmt::format("look up user '{}'", wanted));
  }
  if (!found) return tl::unexpected(found.error());
  if (!found->has_value()) {
    return fail(ErrorCode::kUnauthenticated, fmt::format("error looking up user '{}': unknown user", wanted));
  }
  UserSpec user = std::move(**found);
  if (self != 0 && user.uid != self) {
    return fail(ErrorCode::kPermissionDenied,
                fmt::format("the agent runs as uid {} and cannot act as user '{}'", self, user.name));
  }
  user.workdir = users.default_workdir.empty() ? user.home : users.default_workdir;
  const bool is_default = users.default_user.empty() ? user.uid == self : user.name == users.default_user;
  if (!is_default) user.relative_base = user.home;
  return user;
}

}  // namespace cellblock::agent
