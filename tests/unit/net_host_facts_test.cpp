// The host facts the firewall starts from: resolv.conf's IPv4 nameservers (loopback stubs left out) and the
// host's interface subnets.

#include <gtest/gtest.h>

#include "net/host_facts.h"

namespace cellblock::net {
namespace {

TEST(NameserversTest, KeepsIpv4InOrderAndSkipsLoopbackAndNoise) {
  auto servers = parse_nameservers(
      "# comment\nsearch example.org\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n"
      "nameserver fd00::1\nnameserver 1.1.1.1 # trailing\noptions edns0\nnameserver\nnameserver 300.1.1.1\n");
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0], 0x0a000001u);
  EXPECT_EQ(servers[1], 0x01010101u);
  EXPECT_TRUE(parse_nameservers("").empty());
}

TEST(HostNetworksTest, ListsSubnetsButLoopbackAndSkippedInterfaces) {
  auto networks = host_networks("cb");
  ASSERT_TRUE(networks) << networks.error().message;
  for (const auto& network : *networks) {
    EXPECT_FALSE(network.contains(0x7f000001)) << network.to_string();
    EXPECT_EQ(network.address & (network.prefix == 0 ? 0 : ~0u << (32 - network.prefix)), network.address);
  }
}

}  // namespace
}  // namespace cellblock::net
