#pragma once
// What the host tells about its own networks: the subnets its interfaces sit on (denied to sandboxes, like
// the private ranges) and the resolvers sandboxes can use.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "net/egress_rules.h"

namespace cellblock::net {

// The IPv4 subnets of the host's interfaces, but loopback and those whose name starts with `skip_prefix`
// (the server's own sandbox links).
Result<std::vector<Cidr4>> host_networks(std::string_view skip_prefix);

// The IPv4 `nameserver` lines of a resolv.conf text, in order, loopback ones left out (a sandbox cannot
// reach the host's loopback).
std::vector<std::uint32_t> parse_nameservers(std::string_view resolv_conf);

// The host's resolvers: /etc/resolv.conf, or where that names only a local stub (systemd-resolved), the
// upstream list the stub uses. Empty when neither names a usable one.
std::vector<std::uint32_t> host_resolvers();

}  // namespace cellblock::net
