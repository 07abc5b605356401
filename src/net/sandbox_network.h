#pragma once
// Sandbox networking as the sandbox module sees it: a link for every boot (leased address pair, attached to
// the firewall with the default policy), the claimed sandbox's egress rules applied to it, and the link given
// back when the sandbox's processes end. After a restart, running sandboxes' links are adopted again.
//
// The data path is the kernel's: a veth pair per sandbox (runtime/ns/veth.h), forwarded and masqueraded by
// the host, filtered by nftables (nft_script.h).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "net/address_pool.h"
#include "net/egress_proxy.h"
#include "net/egress_rules.h"
#include "net/firewall.h"
#include "runtime/runtime.h"

namespace cellblock::net {

struct NetworkSettings {
  Cidr4 subnet;          // the sandboxes' addresses, a /31 each
  std::string instance;  // a few [a-z0-9] naming this server's interfaces and table
  // The sandboxes' DNS servers; none given: the host's (resolv.conf); empty: none.
  std::optional<std::vector<std::uint32_t>> resolvers;
  std::vector<Cidr4> allowed_private;  // private ranges and host networks the operator opens
  // When given, the only destinations sandboxes can ever reach (empty: none, loopback only).
  std::optional<std::vector<Cidr4>> egress_within;
};

class SandboxNetwork {
 public:
  static Result<std::unique_ptr<SandboxNetwork>> open(asio::any_io_executor executor,
                                                      NetworkSettings settings);

  // A link for a sandbox about to boot, with the default policy (apply() replaces it at the claim).
  Result<runtime::NetworkLink> lease(const std::string& sandbox_id);
  // A running sandbox's link after a restart: leased and attached again (reaching nothing until apply()).
  Status adopt(const std::string& sandbox_id, const runtime::NetworkLinkHandle& link);
  // The sandbox's egress rules, replacing what it had; forbidden open connections are cut.
  Status apply(const std::string& sandbox_id, const runtime::NetworkLinkHandle& link,
               const EgressRules& rules);
  // Detaches the link and frees its addresses (after the sandbox's processes are gone). Errors are logged.
  void release(const std::string& sandbox_id, const runtime::NetworkLinkHandle& link);
  // Every claimed sandbox's traffic counters, by sandbox id.
  std::map<std::string, TrafficCounters> counters();

  // Removes the firewall (once no sandbox process is left: a running one would lose its network).
  Status remove() { return firewall_->remove(); }
  // Stops the egress proxy (its connections are cut).
  asio::awaitable<void> stop() { return proxy_->stop(); }

  const std::vector<std::uint32_t>& resolvers() const { return firewall_->config().resolvers; }
  std::string interface_prefix() const;

 private:
  explicit SandboxNetwork(AddressPool pool);
  std::optional<EgressTenant> tenant_of(std::uint32_t sandbox_address);

  std::mutex mutex_;  // the pool and the claimed sandboxes; the firewall locks itself
  AddressPool pool_;
  struct Claimed {
    EgressTenant tenant;
    std::string interface;
  };
  std::map<std::uint32_t, Claimed>
      claimed_;  // claimed sandboxes by address: the proxy's lookup, the counters
  std::unique_ptr<EgressProxy> proxy_;
  std::unique_ptr<Firewall> firewall_;
};

// What the firewall enforces of a sandbox's egress rules: the address lists, and, when the rules name
// domains, the resolvers opened (E2B opens its 8.8.8.8 so allowed names still resolve under deny-all) and
// web traffic sent through the egress proxy.
EgressPolicy address_policy(const EgressRules& rules, const std::vector<std::uint32_t>& resolvers);

}  // namespace cellblock::net
