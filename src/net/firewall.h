#pragma once
// The kernel side of sandbox networking: runs nft_script.h's rules through libnftables (in process, no
// `nft` child per change) and cuts a sandbox's tracked connections through ctnetlink. Thread-safe: boots call
// it from the blocking pool, rule updates from the I/O thread.

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "common/error.h"
#include "net/nft_script.h"

struct nft_ctx;

namespace cellblock::net {

class Firewall {
 public:
  // Installs the table (replacing what a previous server left) and turns on IPv4 forwarding.
  static Result<std::unique_ptr<Firewall>> open(FirewallConfig config);
  ~Firewall();
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;

  const FirewallConfig& config() const { return config_; }

  // A new sandbox's interface: bound to its address, reaching nothing until apply().
  Status attach(const SandboxPort& port);
  // Replaces the sandbox's policy (nothing to do when it is the one in force); its open connections that
  // the new policy forbids are cut on their next packet.
  Status apply(const SandboxPort& port, const EgressPolicy& policy);
  // Removes the sandbox's rules and connection-tracking entries. A port never attached is fine.
  Status detach(const SandboxPort& port);
  // Removes the table: sandboxes lose their network (a server that stops and does not come back).
  Status remove();
  // Every attached sandbox's traffic counters, by interface; or only those of `interface`.
  Result<std::map<std::string, TrafficCounters>> counters();
  Result<TrafficCounters> counters(const std::string& interface);

 private:
  explicit Firewall(FirewallConfig config, nft_ctx* context);
  Status run(const std::string& script, std::string_view what);
  // Runs list commands with JSON output and reads the counters they print, by interface.
  Result<std::map<std::string, TrafficCounters>> list_counters(const std::string& commands);

  FirewallConfig config_;
  std::mutex mutex_;
  nft_ctx* context_;
  std::set<std::string> attached_;  // interfaces
  std::map<std::string, EgressPolicy>
      with_policy_;  // interfaces whose chain the policy map names: its policy
};

// Deletes the connection-tracking entries marked `mark` (the rules mark a sandbox's connections with its
// address).
Status flush_connections(std::uint32_t mark);

}  // namespace cellblock::net
