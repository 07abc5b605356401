// The firewall's rule text: range normalisation (nft refuses overlapping intervals), the base table's order
// of checks, and the per-sandbox scripts. net_firewall_test loads the same text into the kernel.

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "net/nft_script.h"

namespace cellblock::net {
namespace {

std::string texts(const std::vector<Cidr4>& ranges) {
  std::string out;
  for (const auto& range : ranges) out += range.to_string() + " ";
  return out;
}

FirewallConfig config() {
  FirewallConfig c;
  c.table = "cellblock-t1";
  c.interface_prefix = "cbt1-";
  c.sandbox_subnet = {0x64580000, 20};
  c.host_networks = {{0xc0000200, 24}};
  c.resolvers = {0xc6120002};
  return c;
}

TEST(NormalizeTest, DropsContainedRangesAndHostBits) {
  auto out =
      normalize({{0x0a010203, 16}, {0x0a000000, 8}, {0x01020304, 32}, {0x01020300, 24}, {0x01020304, 32}});
  EXPECT_EQ(texts(out), "1.2.3.0/24 10.0.0.0/8 ");
}

TEST(NormalizeTest, EverythingSwallowsTheRest) {
  EXPECT_EQ(texts(normalize({{0xc0a80000, 16}, {0, 0}, {0x08080808, 32}})), "0.0.0.0/0 ");
  EXPECT_TRUE(normalize({}).empty());
}

TEST(BaseRulesetTest, ChecksRunInOrderAndNameTheServersOwnObjects) {
  std::string text = base_ruleset(config());
  EXPECT_EQ(text.rfind("table inet cellblock-t1\ndelete table inet cellblock-t1\n", 0), 0u) << text;
  auto at = [&text](std::string_view needle) {
    auto pos = text.find(needle);
    EXPECT_NE(pos, std::string::npos) << needle << " missing from\n" << text;
    return pos;
  };
  // Spoofing first, then the resolvers' exemption, then the fixed denials, then the sandbox's own chain.
  auto spoof = at("iifname . ip saddr != @bound drop");
  auto dns = at("ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 iifname vmap @sandbox_chain");
  auto fixed = at("ip daddr @always_denied ip daddr != @allowed_private goto refuse");
  auto host = at("ip daddr @host_networks ip daddr != @allowed_private goto refuse");
  auto own = at("    iifname vmap @sandbox_chain\n    goto refuse\n");
  EXPECT_LT(spoof, dns);
  EXPECT_LT(dns, fixed);
  EXPECT_LT(fixed, host);
  EXPECT_LT(host, own);
  at("elements = { 192.0.2.0/24 }");
  at("elements = { 198.18.0.2/32 }");
  at("169.254.0.0/16");
  at("oifname \"cbt1-*\" drop");
  at("iifname \"cbt1-*\" goto refuse");  // the host itself
  at("ip saddr 100.88.0.0/20 oifname != \"cbt1-*\" masquerade");
  EXPECT_EQ(text.find("egress_within goto"), std::string::npos);  // not confined unless asked
}

TEST(BaseRulesetTest, ConfinementComesBeforeEveryExemption) {
  auto c = config();
  c.egress_within = std::vector<Cidr4>{{0xc6120000, 15}};
  std::string text = base_ruleset(c);
  auto within = text.find("ip daddr != @egress_within goto refuse");
  ASSERT_NE(within, std::string::npos);
  EXPECT_LT(within, text.find("ip daddr @resolvers"));
}

TEST(BaseRulesetTest, ConfinedToNothingRefusesEverythingFromASandbox) {
  auto c = config();
  c.egress_within = std::vector<Cidr4>{};
  std::string text = base_ruleset(c);
  EXPECT_NE(text.find("map @new_counter\n    goto refuse\n"), std::string::npos) << text;
}

TEST(FixedDenialTest, MirrorsTheBaseRulesetsOrder) {
  auto c = config();
  EXPECT_EQ(fixed_denial(c, 0x01010101), "");                       // 1.1.1.1
  EXPECT_NE(fixed_denial(c, 0xa9fea9fe), "");                       // 169.254.169.254
  EXPECT_NE(fixed_denial(c, 0x7f000001), "");                       // 127.0.0.1
  EXPECT_EQ(fixed_denial(c, 0xc0000205), "a network of the host");  // 192.0.2.5
  c.allowed_private = {{0xc0000200, 24}};
  EXPECT_EQ(fixed_denial(c, 0xc0000205), "");  // the operator opened it
  c.egress_within = std::vector<Cidr4>{{0xc6120000, 15}};
  EXPECT_EQ(fixed_denial(c, 0x01010101), "outside --egress-within");
  EXPECT_EQ(fixed_denial(c, 0xc0000205), "outside --egress-within");  // confinement first
  EXPECT_EQ(fixed_denial(c, 0xc6130a0a), "");
  c.egress_within = std::vector<Cidr4>{};
  EXPECT_EQ(fixed_denial(c, 0xc6130a0a), "outside --egress-within");
}

TEST(BaseRulesetTest, TheProxysPortIsOpenOnlyToRedirectedWebTraffic) {
  auto c = config();
  c.proxy_port = 41234;
  std::string text = base_ruleset(c);
  EXPECT_NE(text.find("iifname @inspected tcp dport { 80, 443 } redirect to :41234"), std::string::npos)
      << text;
  auto accept = text.find(
      "iifname \"cbt1-*\" tcp dport 41234 ct status dnat counter name iifname map @out_counter accept");
  ASSERT_NE(accept, std::string::npos) << text;
  EXPECT_LT(accept, text.find("iifname \"cbt1-*\" goto refuse"));
  EXPECT_EQ(base_ruleset(config()).find("redirect"), std::string::npos);
}

TEST(SandboxScriptsTest, InspectionJoinsAndLeavesTheProxysSetOnce) {
  SandboxPort port{"abc", "cbt1-3", 0x64580007};
  EgressPolicy inspect{{}, {{0, 0}}, true};
  EXPECT_NE(policy_script("t", port, inspect, false).find("add element inet t inspected { \"cbt1-3\" }"),
            std::string::npos);
  EXPECT_EQ(policy_script("t", port, inspect, true).find("inspected"), std::string::npos);
  EXPECT_NE(policy_script("t", port, EgressPolicy{}, true).find("delete element inet t inspected"),
            std::string::npos);
  EXPECT_NE(detach_script("t", port, true, true).find("delete element inet t inspected"), std::string::npos);
}

TEST(SandboxScriptsTest, PolicyAllowsBeforeItDenies) {
  SandboxPort port{"abc", "cbt1-3", 0x64580007};
  EgressPolicy policy{{{0x01010101, 32}}, {{0, 0}, {0x08080808, 32}}};
  EXPECT_EQ(policy_script("cellblock-t1", port, policy, false),
            "flush chain inet cellblock-t1 sb-abc\n"
            "add rule inet cellblock-t1 sb-abc ip daddr { 1.1.1.1/32 } accept\n"
            "add rule inet cellblock-t1 sb-abc ip daddr { 0.0.0.0/0 } goto refuse\n"
            "add rule inet cellblock-t1 sb-abc accept\n"
            "add element inet cellblock-t1 sandbox_chain { \"cbt1-3\" : jump sb-abc }\n");
  EXPECT_EQ(attach_script("cellblock-t1", port)
                .rfind("add element inet cellblock-t1 bound { \"cbt1-3\" . 100.88.0.7 }\n"
                       "add chain inet cellblock-t1 sb-abc\n",
                       0),
            0u);
}

TEST(SandboxScriptsTest, EachSandboxHasItsCountersFromAttachToDetach) {
  SandboxPort port{"abc", "cbt1-3", 0x64580007};
  const std::string attach = attach_script("t", port);
  const std::string detach = detach_script("t", port, false, false);
  for (auto kind : kCounterKinds) {
    const std::string name = counter_name(kind, "cbt1-3");
    EXPECT_NE(attach.find("add counter inet t " + name + "\n"), std::string::npos) << attach;
    EXPECT_NE(attach.find(fmt::format("add element inet t {}_counter {{ \"cbt1-3\" : \"{}\" }}", kind, name)),
              std::string::npos)
        << attach;
    EXPECT_NE(detach.find("delete counter inet t " + name + "\n"), std::string::npos) << detach;
    EXPECT_LT(detach.find(fmt::format("delete element inet t {}_counter", kind)),
              detach.find("delete counter inet t " + name));
  }
  EXPECT_NE(attach.find("add element inet t connection_mark { \"cbt1-3\" : 0x64580007 }"), std::string::npos);
  EXPECT_NE(detach.find("delete element inet t connection_mark { \"cbt1-3\" }"), std::string::npos);
  const std::string base = base_ruleset(config());
  EXPECT_NE(base.find("iifname \"cbt1-*\" ct state new ct mark set iifname map @connection_mark"),
            std::string::npos);
  EXPECT_NE(base.find("chain refuse {\n    counter name iifname map @denied_counter\n"), std::string::npos)
      << base;
}

TEST(SandboxScriptsTest, DetachNamesTheMapElementOnlyWhenAPolicyWasApplied) {
  SandboxPort port{"abc", "cbt1-3", 0x64580007};
  EXPECT_EQ(detach_script("t", port, false, false).find("sandbox_chain"), std::string::npos);
  EXPECT_EQ(
      detach_script("t", port, true, false).rfind("delete element inet t sandbox_chain { \"cbt1-3\" }\n", 0),
      0u);
}

TEST(CounterListingTest, ReadsEveryDocumentAndKind) {
  const char* listing =
      R"({"nftables": [{"metainfo": {"version": "1.0.6"}}, {"counter": {"family": "inet", "name": "out-cbt1-3", "table": "t", "handle": 1, "packets": 7, "bytes": 900}}]})"
      "\n"
      R"({"nftables": [{"counter": {"name": "in-cbt1-3", "packets": 5, "bytes": 3000}}, {"counter": {"name": "new-cbt1-3", "packets": 2, "bytes": 120}}, {"counter": {"name": "denied-cbt1-4", "packets": 1, "bytes": 60}}]})"
      "\n";
  auto counters = parse_counter_listing(listing);
  ASSERT_TRUE(counters) << counters.error().message;
  ASSERT_EQ(counters->size(), 2u);
  const TrafficCounters& three = counters->at("cbt1-3");
  EXPECT_EQ(three.out_packets, 7u);
  EXPECT_EQ(three.out_bytes, 900u);
  EXPECT_EQ(three.in_bytes, 3000u);
  EXPECT_EQ(three.connections, 2u);
  EXPECT_EQ(counters->at("cbt1-4").denied, 1u);
  EXPECT_FALSE(parse_counter_listing("not json\n"));
  EXPECT_TRUE(parse_counter_listing("")->empty());
}

}  // namespace
}  // namespace cellblock::net
