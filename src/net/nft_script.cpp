#include "net/nft_script.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace cellblock::net {

namespace {

std::uint32_t mask_of(int prefix) {
  return prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
}

// `{ a, b/n, … }` of normalized ranges; callers check for emptiness (nft has no empty anonymous set).
std::string set_literal(const std::vector<Cidr4>& ranges) {
  std::string out = "{ ";
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    if (i > 0) out += ", ";
    out += ranges[i].to_string();
  }
  return out + " }";
}

std::string interval_set(std::string_view name, const std::vector<Cidr4>& ranges) {
  auto normal = normalize(ranges);
  std::string out = fmt::format("  set {} {{ type ipv4_addr; flags interval;", name);
  if (!normal.empty()) out += " elements = " + set_literal(normal) + ";";
  return out + " }\n";
}

std::string chain_name(const SandboxPort& port) {
  return "sb-" + port.id;
}

}  // namespace

std::vector<Cidr4> always_denied_ranges() {
  // E2B's fixed list (e2b-network.md §4) and what no public host has: "this network", multicast, reserved.
  return {
      {0x00000000, 8},   // 0.0.0.0/8
      {0x0a000000, 8},   // 10.0.0.0/8
      {0x64400000, 10},  // 100.64.0.0/10 (shared address space; the sandboxes' own range lives here)
      {0x7f000000, 8},   // 127.0.0.0/8
      {0xa9fe0000, 16},  // 169.254.0.0/16 (link-local, cloud metadata)
      {0xac100000, 12},  // 172.16.0.0/12
      {0xc0a80000, 16},  // 192.168.0.0/16
      {0xe0000000, 3},   // 224.0.0.0/4 multicast and 240.0.0.0/4 reserved, 255.255.255.255 included
  };
}

std::string_view fixed_denial(const FirewallConfig& config, std::uint32_t address) {
  auto within = [address](const std::vector<Cidr4>& ranges) {
    return std::any_of(ranges.begin(), ranges.end(),
                       [address](const Cidr4& r) { return r.contains(address); });
  };
  if (config.egress_within && !within(*config.egress_within)) return "outside --egress-within";
  if (within(config.allowed_private)) return {};
  if (within(always_denied_ranges())) return "a private, loopback, link-local or reserved range";
  if (within(config.host_networks)) return "a network of the host";
  return {};
}

std::vector<Cidr4> normalize(std::vector<Cidr4> ranges) {
  for (auto& range : ranges) range.address &= mask_of(range.prefix);
  std::sort(ranges.begin(), ranges.end(), [](const Cidr4& a, const Cidr4& b) {
    return a.address != b.address ? a.address < b.address : a.prefix < b.prefix;
  });
  std::vector<Cidr4> out;
  for (const auto& range : ranges) {
    if (!out.empty() && out.back().contains(range.address)) continue;  // sorted: only the last can hold it
    out.push_back(range);
  }
  return out;
}

std::string base_ruleset(const FirewallConfig& config) {
  std::string out = fmt::format("table inet {0}\ndelete table inet {0}\ntable inet {0} {{\n", config.table);
  out += interval_set("always_denied", always_denied_ranges());
  out += interval_set("host_networks", config.host_networks);
  out += interval_set("allowed_private", config.allowed_private);
  out += interval_set("egress_within", config.egress_within.value_or(std::vector<Cidr4>{}));
  std::vector<Cidr4> resolvers;
  for (auto address : config.resolvers) resolvers.push_back({address, 32});
  out += interval_set("resolvers", resolvers);
  out += "  set bound { type ifname . ipv4_addr; }\n";
  out += "  set inspected { type ifname; }\n";
  out += "  map sandbox_chain { type ifname : verdict; }\n";
  for (auto kind : kCounterKinds) out += fmt::format("  map {}_counter {{ type ifname : counter; }}\n", kind);
  out += "  map connection_mark { type ifname : mark; }\n";
  out +=
      "  chain refuse {\n"
      "    counter name iifname map @denied_counter\n"
      "    meta l4proto tcp reject with tcp reset\n"
      "    reject with icmpx type admin-prohibited\n"
      "  }\n";
  out +=
      "  chain sandbox_egress {\n"
      "    meta nfproto ipv6 drop\n"
      "    iifname . ip saddr != @bound drop\n"
      "    counter name iifname map @out_counter\n"
      "    ct state new counter name iifname map @new_counter\n";
  if (config.egress_within) {
    out +=
        config.egress_within->empty() ? "    goto refuse\n" : "    ip daddr != @egress_within goto refuse\n";
  }
  out +=
      "    ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 iifname vmap @sandbox_chain\n"
      "    ip daddr @resolvers meta l4proto { tcp, udp } th dport 53 goto refuse\n"
      "    ip daddr @always_denied ip daddr != @allowed_private goto refuse\n"
      "    ip daddr @host_networks ip daddr != @allowed_private goto refuse\n"
      "    iifname vmap @sandbox_chain\n"
      "    goto refuse\n"
      "  }\n";
  out += fmt::format(
      "  chain forward {{\n"
      "    type filter hook forward priority filter; policy accept;\n"
      "    oifname \"{0}*\" ct state established,related counter name oifname map @in_counter accept\n"
      "    oifname \"{0}*\" drop\n"
      "    iifname \"{0}*\" tcp flags syn tcp option maxseg size set rt mtu\n"
      "    iifname \"{0}*\" jump sandbox_egress\n"
      "  }}\n"
      "  chain mark_connections {{\n"
      "    type filter hook prerouting priority mangle; policy accept;\n"
      "    iifname \"{0}*\" ct state new ct mark set iifname map @connection_mark\n"
      "  }}\n"
      "  chain input {{\n"
      "    type filter hook input priority filter; policy accept;\n"
      "{2}"
      "    iifname \"{0}*\" goto refuse\n"
      "  }}\n"
      "  chain output {{\n"
      "    type filter hook output priority filter; policy accept;\n"
      "    oifname \"{0}*\" counter name oifname map @in_counter\n"
      "  }}\n"
      "  chain postrouting {{\n"
      "    type nat hook postrouting priority srcnat; policy accept;\n"
      "    ip saddr {1} oifname != \"{0}*\" masquerade\n"
      "  }}\n",
      config.interface_prefix, config.sandbox_subnet.to_string(),
      config.proxy_port == 0
          ? std::string()
          : fmt::format("    iifname \"{}*\" tcp dport {} ct status dnat counter name iifname map "
                        "@out_counter accept\n",
                        config.interface_prefix, config.proxy_port));
  if (config.proxy_port != 0) {
    out += fmt::format(
        "  chain prerouting {{\n"
        "    type nat hook prerouting priority dstnat; policy accept;\n"
        "    iifname @inspected tcp dport {{ 80, 443 }} redirect to :{}\n"
        "  }}\n",
        config.proxy_port);
  }
  return out + "}\n";
}

std::string counter_name(std::string_view kind, std::string_view interface) {
  return fmt::format("{}-{}", kind, interface);
}

std::string attach_script(std::string_view table, const SandboxPort& port) {
  std::string out = fmt::format(
      "add element inet {0} bound {{ \"{1}\" . {2} }}\n"
      "add chain inet {0} {3}\n"
      // Every connection the sandbox opens is marked with its address, the proxied ones too: detach deletes
      // the tracked connections by that mark (flush_connections, firewall.h).
      "add element inet {0} connection_mark {{ \"{1}\" : {4:#x} }}\n",
      table, port.interface, format_ipv4(port.address), chain_name(port), port.address);
  for (auto kind : kCounterKinds) {
    out += fmt::format("add counter inet {} {}\n", table, counter_name(kind, port.interface));
    out += fmt::format("add element inet {} {}_counter {{ \"{}\" : \"{}\" }}\n", table, kind, port.interface,
                       counter_name(kind, port.interface));
  }
  return out;
}

std::string policy_script(std::string_view table, const SandboxPort& port, const EgressPolicy& policy,
                          bool inspected) {
  const std::string chain = chain_name(port);
  std::string out = fmt::format("flush chain inet {} {}\n", table, chain);
  if (auto allow = normalize(policy.allow); !allow.empty()) {
    out += fmt::format("add rule inet {} {} ip daddr {} accept\n", table, chain, set_literal(allow));
  }
  if (auto deny = normalize(policy.deny); !deny.empty()) {
    out += fmt::format("add rule inet {} {} ip daddr {} goto refuse\n", table, chain, set_literal(deny));
  }
  out += fmt::format("add rule inet {} {} accept\n", table, chain);
  out +=
      fmt::format("add element inet {} sandbox_chain {{ \"{}\" : jump {} }}\n", table, port.interface, chain);
  if (policy.inspect && !inspected) {
    out += fmt::format("add element inet {} inspected {{ \"{}\" }}\n", table, port.interface);
  } else if (!policy.inspect && inspected) {
    out += fmt::format("delete element inet {} inspected {{ \"{}\" }}\n", table, port.interface);
  }
  return out;
}

std::string detach_script(std::string_view table, const SandboxPort& port, bool with_policy, bool inspected) {
  // The map element goes first: a chain that a verdict still names cannot be deleted.
  std::string out;
  if (inspected) out += fmt::format("delete element inet {} inspected {{ \"{}\" }}\n", table, port.interface);
  if (with_policy)
    out += fmt::format("delete element inet {} sandbox_chain {{ \"{}\" }}\n", table, port.interface);
  for (auto kind : kCounterKinds) {
    out += fmt::format("delete element inet {} {}_counter {{ \"{}\" }}\n", table, kind, port.interface);
    out += fmt::format("delete counter inet {} {}\n", table, counter_name(kind, port.interface));
  }
  return out + fmt::format(
                   "delete element inet {0} connection_mark {{ \"{1}\" }}\n"
                   "delete element inet {0} bound {{ \"{1}\" . {2} }}\n"
                   "flush chain inet {0} {3}\n"
                   "delete chain inet {0} {3}\n",
                   table, port.interface, format_ipv4(port.address), chain_name(port));
}

Result<std::map<std::string, TrafficCounters>> parse_counter_listing(std::string_view listing) {
  std::map<std::string, TrafficCounters> out;
  std::size_t start = 0;
  while (start < listing.size()) {  // one JSON document a line, one per list command
    std::size_t end = listing.find('\n', start);
    if (end == std::string_view::npos) end = listing.size();
    std::string_view line = listing.substr(start, end - start);
    start = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    boost::system::error_code ec;
    auto document = boost::json::parse(line, ec);
    const auto* items = ec || !document.is_object() ? nullptr : document.as_object().if_contains("nftables");
    if (items == nullptr || !items->is_array()) {
      return fail(ErrorCode::kInternal, "nftables listed the counters in an unexpected form");
    }
    for (const auto& item : items->as_array()) {
      const auto* counter = item.is_object() ? item.as_object().if_contains("counter") : nullptr;
      if (counter == nullptr || !counter->is_object()) continue;
      const auto& fields = counter->as_object();
      const auto* name = fields.if_contains("name");
      const auto* packets = fields.if_contains("packets");
      const auto* bytes = fields.if_contains("bytes");
      if (!name || !name->is_string() || !packets || !packets->is_number() || !bytes || !bytes->is_number()) {
        continue;
      }
      std::string_view full = name->get_string();
      auto dash = full.find('-');
      if (dash == std::string_view::npos) continue;
      std::string_view kind = full.substr(0, dash);
      TrafficCounters& counters = out[std::string(full.substr(dash + 1))];
      boost::system::error_code number_ec;
      const auto packet_count = packets->to_number<std::uint64_t>(number_ec);
      const auto byte_count = bytes->to_number<std::uint64_t>(number_ec);
      if (kind == "out") {
        counters.out_packets = packet_count;
        counters.out_bytes = byte_count;
      } else if (kind == "in") {
        counters.in_packets = packet_count;
        counters.in_bytes = byte_count;
      } else if (kind == "new") {
        counters.connections = packet_count;
      } else if (kind == "denied") {
        counters.denied = packet_count;
      }
    }
  }
  return out;
}

}  // namespace cellblock::net
