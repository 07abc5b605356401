#include "runtime/ns/rlimits.h"

#include <sys/resource.h>

#include <cerrno>
#include <string>

namespace cellblock::runtime::ns {

namespace {

struct RlimitRule {
  int resource;
  rlim_t value;
  const char* name;
};

// Why each: NOFILE - kernels and ZeroMQ open many sockets; CORE - a crash must not write a core file the size
// of the sandbox's memory; MEMLOCK - locked pages escape the memory cgroup's reclaim; MSGQUEUE - POSIX queues
// are kernel memory; RTPRIO/NICE - no real-time scheduling against the host.
constexpr RlimitRule kRules[] = {
    {RLIMIT_NOFILE, 65536, "RLIMIT_NOFILE"},     {RLIMIT_CORE, 0, "RLIMIT_CORE"},
    {RLIMIT_MEMLOCK, 8 << 20, "RLIMIT_MEMLOCK"}, {RLIMIT_MSGQUEUE, 800 << 10, "RLIMIT_MSGQUEUE"},
    {RLIMIT_RTPRIO, 0, "RLIMIT_RTPRIO"},         {RLIMIT_NICE, 0, "RLIMIT_NICE"},
};

}  // namespace

Status apply_rlimits(pid_t pid) {
  for (const auto& rule : kRules) {
    auto resource = static_cast<__rlimit_resource>(rule.resource);
    struct rlimit limit {
      rule.value, rule.value
    };
    int rc = ::prlimit(pid, resource, &limit, nullptr);
    // Without CAP_SYS_RESOURCE (some container hosts drop it) a limit cannot rise above the server's own hard
    // limit: the sandbox then gets that instead of failing to start.
    struct rlimit own {};
    if (rc != 0 && errno == EPERM && ::getrlimit(resource, &own) == 0 && own.rlim_max < rule.value) {
      limit = {own.rlim_max, own.rlim_max};
      rc = ::prlimit(pid, resource, &limit, nullptr);
    }
    if (rc != 0) {
      return tl::unexpected(system_error(std::string("setting ") + rule.name + " of the sandbox", errno));
    }
  }
  return {};
}

}  // namespace cellblock::runtime::ns
