#include "runtime/ns/landlock.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace cellblock::runtime::ns {
namespace {

// Debian 12's kernel headers predate Landlock scopes (Linux 6.12): the UAPI values, spelled out.
struct RulesetAttr {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;
  std::uint64_t scoped;
};
constexpr long kCreateRuleset = 444;  // x86_64 __NR_landlock_create_ruleset
constexpr long kRestrictSelf = 446;   // x86_64 __NR_landlock_restrict_self
constexpr std::uint32_t kCreateRulesetVersion = 1U << 0;
constexpr std::uint64_t kScopeAbstractUnixSocket = 1ULL << 0;
constexpr std::uint64_t kScopeSignal = 1ULL << 1;
constexpr long kFirstAbiWithScopes = 6;

}  // namespace

StepResult apply_landlock_scopes() {
  const long abi = ::syscall(kCreateRuleset, nullptr, 0, kCreateRulesetVersion);
  if (abi < kFirstAbiWithScopes) return step_ok();
  RulesetAttr attr{0, 0, kScopeAbstractUnixSocket | kScopeSignal};
  const long ruleset = ::syscall(kCreateRuleset, &attr, sizeof attr, 0);
  if (ruleset < 0) return step_failed(ContainStep::kLandlock, errno, "landlock_create_ruleset");
  // Landlock needs no_new_privs (or CAP_SYS_ADMIN); seccomp sets it again later, which is harmless.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    ::close(static_cast<int>(ruleset));
    return step_failed(ContainStep::kLandlock, errno, "no_new_privs");
  }
  const long restricted = ::syscall(kRestrictSelf, ruleset, 0);
  const int err = errno;
  ::close(static_cast<int>(ruleset));
  if (restricted != 0) return step_failed(ContainStep::kLandlock, err, "landlock_restrict_self");
  return step_ok();
}

}  // namespace cellblock::runtime::ns
