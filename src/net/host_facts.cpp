#include "net/host_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <fstream>
#include <memory>
#include <sstream>

namespace cellblock::net {

namespace {

int prefix_of(std::uint32_t mask) {
  int prefix = 0;
  while (prefix < 32 && (mask & (0x80000000u >> prefix)) != 0) ++prefix;
  return prefix;
}

std::string read_file(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

Result<std::vector<Cidr4>> host_networks(std::string_view skip_prefix) {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return tl::unexpected(system_error("listing the host's interfaces", errno));
  std::unique_ptr<ifaddrs, decltype(&::freeifaddrs)> owned(list, &::freeifaddrs);
  std::vector<Cidr4> networks;
  for (const ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_netmask == nullptr || entry->ifa_addr->sa_family != AF_INET)
      continue;
    std::string_view name = entry->ifa_name;
    if (name == "lo" || (!skip_prefix.empty() && name.starts_with(skip_prefix))) continue;
    auto address = ntohl(reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr.s_addr);
    auto mask = ntohl(reinterpret_cast<const sockaddr_in*>(entry->ifa_netmask)->sin_addr.s_addr);
    networks.push_back({address & mask, prefix_of(mask)});
  }
  return networks;
}

std::vector<std::uint32_t> parse_nameservers(std::string_view resolv_conf) {
  std::vector<std::uint32_t> servers;
  std::istringstream lines{std::string(resolv_conf)};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string keyword, value;
    words >> keyword >> value;
    in_addr parsed{};
    if (keyword != "nameserver" || ::inet_pton(AF_INET, value.c_str(), &parsed) != 1) continue;
    auto address = ntohl(parsed.s_addr);
    if ((address >> 24) == 127) continue;
    servers.push_back(address);
  }
  return servers;
}

std::vector<std::uint32_t> host_resolvers() {
  auto servers = parse_nameservers(read_file("/etc/resolv.conf"));
  if (servers.empty()) servers = parse_nameservers(read_file("/run/systemd/resolve/resolv.conf"));
  return servers;
}

}  // namespace cellblock::net
