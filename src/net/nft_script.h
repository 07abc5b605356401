#pragma once
// The nftables rule text of sandbox networking, built without touching the kernel (unit tested; firewall.h
// runs it). One table per server (`inet cellblock-<instance>`) holds everything it installs:
//
//   forward      a sandbox's packets (iifname "<prefix>*") go to sandbox_egress; nothing may open a
//   connection
//                *into* a sandbox (from the host's networks or from another sandbox), replies pass
//   sandbox_egress  per packet, in order: IPv6 dropped; a source address other than the one bound to the
//                interface dropped (no spoofing another sandbox); outside --egress-within denied; the
//                resolvers on port 53 go straight to the sandbox's policy; always-denied ranges (private,
//                link-local, metadata, loopback, multicast) and the host's own networks denied unless an
//                operator allowed them; then the sandbox's own chain (sb-<id>) by interface; an interface
//                with no chain yet denies
//   sb-<id>      the sandbox's allowOut / denyOut, E2B's precedence: allow beats deny, the rest is allowed
//   input        nothing from a sandbox reaches the host itself (refused: a reset or an ICMP error at once)
//   postrouting  the sandbox subnet is masqueraded behind the host's address on the way out
//
// Policies are evaluated per packet, not only when a connection opens: a rule update cuts what it forbids on
// the connection's next packet (a TCP reset to the sandbox).

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "net/egress_rules.h"

namespace cellblock::net {

struct FirewallConfig {
  std::string table;             // the nftables table (family inet)
  std::string interface_prefix;  // every host-side sandbox interface's name starts with it
  Cidr4 sandbox_subnet;
  std::vector<Cidr4> host_networks;    // the host's own networks (connected subnets of its interfaces)
  std::vector<Cidr4> allowed_private;  // exempt from the always-denied ranges and host networks (operator)
  // When given, sandboxes reach nothing outside these ranges (empty: nothing at all, loopback only).
  std::optional<std::vector<Cidr4>> egress_within;
  std::vector<std::uint32_t> resolvers;  // the sandboxes' DNS servers
  // The egress proxy's port on the host: TCP to ports 80 and 443 from the interfaces in the `inspected` set
  // is redirected to it (0: no proxy).
  std::uint16_t proxy_port = 0;
};

// A sandbox's end of the firewall: its host-side interface and the address bound to it.
struct SandboxPort {
  std::string id;
  std::string interface;
  std::uint32_t address = 0;
};

// The address part of a sandbox's rules (domains are the egress proxy's): allow beats deny, the rest passes.
// `inspect`: its TCP to ports 80 and 443 goes through the egress proxy, which decides by Host and SNI.
struct EgressPolicy {
  std::vector<Cidr4> allow;
  std::vector<Cidr4> deny;
  bool inspect = false;
  friend bool operator==(const EgressPolicy&, const EgressPolicy&) = default;
};

// A sandbox's traffic counters, one nft counter object each, named "<kind>-<interface>": packets and bytes it
// sent (denied ones included; through the egress proxy too), received on its connections, connections it
// opened, and packets refused.
inline constexpr std::array<std::string_view, 4> kCounterKinds = {"out", "in", "new", "denied"};
std::string counter_name(std::string_view kind, std::string_view interface);

struct TrafficCounters {
  std::uint64_t out_packets = 0;
  std::uint64_t out_bytes = 0;
  std::uint64_t in_packets = 0;
  std::uint64_t in_bytes = 0;
  std::uint64_t connections = 0;
  std::uint64_t denied = 0;
};

// The counters in what `nft -j` prints for list commands (one JSON document a line), by interface.
Result<std::map<std::string, TrafficCounters>> parse_counter_listing(std::string_view listing);

// The ranges E2B never lets a sandbox reach, whatever its rules (plus multicast and reserved space).
std::vector<Cidr4> always_denied_ranges();

// Why the fixed rules refuse `address` (the same checks, in the same order, as sandbox_egress: confinement,
// always-denied ranges, host networks, each unless the operator allowed it), or empty when they do not. The
// egress proxy dials on the sandbox's behalf and applies them itself.
std::string_view fixed_denial(const FirewallConfig& config, std::uint32_t address);

// Sorted, with every range inside another one dropped: nft refuses overlapping intervals in one set.
std::vector<Cidr4> normalize(std::vector<Cidr4> ranges);

// Replaces the whole table (a previous server's included).
std::string base_ruleset(const FirewallConfig& config);
// The sandbox-side scripts name the table: `config.table`.
// Binds the interface to the address and creates the sandbox's (empty: deny-all) chain, not yet reachable.
std::string attach_script(std::string_view table, const SandboxPort& port);
// Replaces the sandbox's chain with `policy` and routes the interface to it; `inspected` says whether the
// interface is in the proxy's set now (nft cannot delete what is not there).
std::string policy_script(std::string_view table, const SandboxPort& port, const EgressPolicy& policy,
                          bool inspected);
// Removes every object of the sandbox (nft has no delete-if-present: `with_policy` says whether
// policy_script ran, `inspected` whether the interface is in the proxy's set). Only valid after
// attach_script.
std::string detach_script(std::string_view table, const SandboxPort& port, bool with_policy, bool inspected);

}  // namespace cellblock::net
