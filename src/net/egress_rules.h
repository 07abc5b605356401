#pragma once
// A sandbox's network configuration as E2B's API states it (e2b-network.md §2-§5, §9): the egress allow/deny
// lists and the create-only ingress options, parsed from the create and update bodies with E2B's validation
// messages, the per-connection egress decision (§4 step 3), and the JSON kept in the store and shown by
// GET /sandboxes/{id}.
//
// Pure: no sockets, no name resolution, no clock. The always-denied private ranges (§4 step 1) are not here:
// they hold for every sandbox whatever its rules say, and are enforced beside these rules by whoever owns the
// sandbox's network.
//
// IPv6: E2B accepts IPv6 addresses and CIDRs in allowOut and denyOut. They are validated and kept as given
// (so GET echoes them) but never compiled: a cellblock sandbox has no IPv6 route, so every IPv6 destination
// is unreachable whatever the lists say, and an IPv6 entry can neither open nor close anything.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/error.h"

namespace cellblock::net {

// The literal E2B calls ALL_TRAFFIC: it is what denyOut must contain when allowOut names a domain.
inline constexpr std::string_view kAllTraffic = "0.0.0.0/0";

// "a.b.c.d" in host byte order.
std::string format_ipv4(std::uint32_t address);

// An IPv4 network. parse_cidr4 keeps `address` masked to the prefix and `prefix` in 0-32.
struct Cidr4 {
  std::uint32_t address = 0;  // host byte order
  int prefix = 32;

  bool contains(std::uint32_t ip) const;
  // "a.b.c.d/n", always with the prefix ("1.1.1.1" gives "1.1.1.1/32").
  std::string to_string() const;
  friend bool operator==(const Cidr4&, const Cidr4&) = default;
};

// "a.b.c.d" (a /32) or "a.b.c.d/n" with n in 0-32, by Go's rules (which decide what E2B calls an address):
// four decimal octets 0-255 without leading zeros, no spaces; the prefix is decimal digits. Host bits set in
// the address are allowed and masked off ("10.1.2.3/8" is 10.0.0.0/8). kInvalidArgument otherwise.
Result<Cidr4> parse_cidr4(std::string_view text);

// What an allowOut/denyOut entry is by E2B's grammar (§3.1): an IP or CIDR if it parses as one, IPv4 or IPv6;
// anything else is a domain pattern (and only valid in allowOut).
enum class EntryKind { kIpv4, kIpv6, kDomain };
EntryKind classify_entry(std::string_view entry);

// A hostname pattern from allowOut. Stored lower-case (ASCII) with one trailing dot removed.
struct DomainPattern {
  enum class Kind {
    kExact,       // "api.example.com": that name only
    kSubdomains,  // "*.example.com": any name below example.com at any depth, not example.com itself
    kAny,         // "*": every hostname
  };
  Kind kind = Kind::kExact;
  std::string name;  // "api.example.com"; "example.com" for kSubdomains; empty for kAny

  // Never fails: E2B does not check domain syntax, so an odd entry is an exact name that matches nothing
  // real.
  static DomainPattern parse(std::string_view entry);
  // `hostname` is a Host header without its port, or a TLS SNI name; compared case-insensitively, one
  // trailing dot ignored.
  bool matches(std::string_view hostname) const;
  // The pattern as an allowOut entry ("*.example.com").
  std::string to_string() const;
  friend bool operator==(const DomainPattern&, const DomainPattern&) = default;
};

// The egress lists of one sandbox: the entries as the client gave them (echoed by GET /sandboxes/{id}) and
// their compiled form. Only compile() fills a non-empty one, so the two always agree and the entries are
// always valid. A default EgressRules has no rules: every destination is allowed.
class EgressRules {
 public:
  EgressRules() = default;

  // Validates and compiles, in E2B's order and with E2B's 400 messages (§3.1):
  //   "invalid denied CIDR <entry>", "invalid allowed address <entry>", and the ALL_TRAFFIC message when
  //   allowOut names a domain and denyOut lacks the literal "0.0.0.0/0" (deny_all_internet does not count).
  // deny_all_internet is `allow_internet_access: false` (§2): deny 0.0.0.0/0, allowOut still wins.
  static Result<EgressRules> compile(std::vector<std::string> allow_out, std::vector<std::string> deny_out,
                                     bool deny_all_internet);

  const std::vector<std::string>& allow_out() const { return allow_out_; }
  const std::vector<std::string>& deny_out() const { return deny_out_; }
  const std::vector<Cidr4>& allow_cidrs() const { return allow_cidrs_; }
  const std::vector<Cidr4>& deny_cidrs() const { return deny_cidrs_; }
  const std::vector<DomainPattern>& allow_domains() const { return allow_domains_; }
  bool deny_all_internet() const { return deny_all_internet_; }

  // Whether any allowOut entry is a domain: then ports 80 and 443 must be inspected for Host/SNI, and the
  // sandbox's resolver must stay reachable (E2B allows its 8.8.8.8/32 in that case, §4 step 4).
  bool has_domains() const { return !allow_domains_.empty(); }
  // No lists and no deny-all: nothing to enforce beyond the always-denied ranges.
  bool empty() const { return allow_out_.empty() && deny_out_.empty() && !deny_all_internet_; }

  friend bool operator==(const EgressRules&, const EgressRules&) = default;

 private:
  std::vector<std::string> allow_out_;
  std::vector<std::string> deny_out_;
  std::vector<Cidr4> allow_cidrs_;
  std::vector<Cidr4> deny_cidrs_;
  std::vector<DomainPattern> allow_domains_;
  bool deny_all_internet_ = false;
};

struct Verdict {
  bool allowed = true;
  // The rule that decided, for the log line of a denial: `allowOut "*.example.com"`, `allowOut "1.1.1.1/32"`,
  // `denyOut "0.0.0.0/0"`, `allow_internet_access false`, or `default`.
  std::string rule;
};

// The decision for one outbound TCP connection (§4 step 3), in E2B's order: a hostname matching an allowOut
// domain allows; then the destination in an allowOut CIDR allows; then in a denyOut CIDR (or anywhere, under
// deny_all_internet) denies; otherwise allow. `hostname` is the Host header (port 80) or SNI (port 443)
// without a port, empty when the connection was not inspected (other ports, no SNI): then only addresses
// decide. Non-TCP traffic uses the same lists without the domain step.
Verdict decide(const EgressRules& rules, std::string_view hostname, std::uint32_t dest_ip);

// The create-only ingress settings (§8); PUT /sandboxes/{id}/network cannot change them.
struct IngressOptions {
  bool allow_public_traffic = true;              // false: inbound traffic needs the traffic access token
  std::optional<std::string> mask_request_host;  // "host" or "host:port", port may be "${PORT}"
  std::vector<std::uint16_t> https_ports;        // sandbox ports that serve TLS themselves; never 49983
  friend bool operator==(const IngressOptions&, const IngressOptions&) = default;
};

// Everything a sandbox stores about its network.
struct NetworkConfig {
  EgressRules egress;
  IngressOptions ingress;
  // `allow_internet_access` as last given (GET's allowInternetAccess); empty when never given. It can differ
  // from egress.deny_all_internet(): an update without the field clears the deny-all but keeps this (§5).
  std::optional<bool> allow_internet_access;
  friend bool operator==(const NetworkConfig&, const NetworkConfig&) = default;
};

// POST /v2/sandboxes (and v1 /sandboxes): the body's `network` value (nullptr or JSON null when absent) and
// its `allow_internet_access`. Unknown keys inside `network` are ignored, as E2B does; a known key of the
// wrong type is kInvalidArgument naming it (e.g. "network.allowOut[1] must be a string"). Non-empty `rules`
// are refused (400 "Network transform rules are not available for your team.": there is no transforming
// proxy), a non-null `egressProxy` is kPermissionDenied (403, §7).
Result<NetworkConfig> parse_create_network(const boost::json::value* network,
                                           std::optional<bool> allow_internet_access);

// PUT /sandboxes/{id}/network: a full replacement of the egress configuration, computed from the body alone
// (§5): omitted lists are cleared and the deny-all applies only when this body says allow_internet_access
// false. Unknown keys are ignored; egressProxy is refused with the update's 403 wording.
struct NetworkUpdate {
  EgressRules egress;
  std::optional<bool> allow_internet_access;  // present only when the body carries it
};
Result<NetworkUpdate> parse_network_update(const boost::json::value& body);

// Applies an update: the egress rules are replaced, the stored flag changes only when the body carried it,
// the ingress options stay.
void apply_update(NetworkConfig& config, NetworkUpdate update);

// GET /sandboxes/{id}'s `network` object (§9): allowOut/denyOut exactly as given and only when non-empty (no
// deny-all from allow_internet_access), allowPublicTraffic always, maskRequestHost and httpsPorts when set.
// allowInternetAccess is a sibling of `network` in the response and is not included.
boost::json::object network_info_json(const NetworkConfig& config);

// The whole config as one JSON text for the store, and back. from_json accepts exactly what to_json writes
// and re-validates the lists; anything else is kInternal (a damaged store, not a bad request).
std::string to_json(const NetworkConfig& config);
Result<NetworkConfig> from_json(std::string_view text);

}  // namespace cellblock::net
