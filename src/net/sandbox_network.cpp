#include "net/sandbox_network.h"

#include <spdlog/spdlog.h>

#include "net/host_facts.h"

namespace cellblock::net {

namespace {

SandboxPort port_of(const std::string& sandbox_id, const runtime::NetworkLinkHandle& link) {
  return {sandbox_id, link.host_interface, link.sandbox_address};
}

}  // namespace

EgressPolicy address_policy(const EgressRules& rules, const std::vector<std::uint32_t>& resolvers) {
  EgressPolicy policy;
  policy.allow = rules.allow_cidrs();
  policy.deny = rules.deny_cidrs();
  if (rules.deny_all_internet()) policy.deny.push_back({0, 0});
  policy.inspect = rules.has_domains();
  if (policy.inspect) {
    for (auto resolver : resolvers) policy.allow.push_back({resolver, 32});
  }
  return policy;
}

Result<std::unique_ptr<SandboxNetwork>> SandboxNetwork::open(asio::any_io_executor executor,
                                                             NetworkSettings settings) {
  const std::string prefix = "cb" + settings.instance + "-";
  auto pool = AddressPool::create(settings.subnet, prefix);
  if (!pool) return tl::unexpected(pool.error());
  auto networks = host_networks(prefix);
  if (!networks) return tl::unexpected(networks.error());
  for (const auto& network : *networks) {
    if (network.contains(settings.subnet.address) || settings.subnet.contains(network.address)) {
      return fail(ErrorCode::kInvalidArgument, "the sandbox subnet " + settings.subnet.to_string() +
                                                   " overlaps the host's network " + network.to_string() +
                                                   ": choose another --sandbox-subnet");
    }
  }
  FirewallConfig config;
  config.table = "cellblock-" + settings.instance;
  config.interface_prefix = prefix;
  config.sandbox_subnet = settings.subnet;
  config.host_networks = std::move(*networks);
  config.allowed_private = settings.allowed_private;
  config.egress_within = settings.egress_within;
  config.resolvers = settings.resolvers ? *settings.resolvers : host_resolvers();
  if (!settings.resolvers && config.resolvers.empty()) {
    spdlog::warn(
        "no resolver found in /etc/resolv.conf for the sandboxes: names will not resolve inside "
        "them (set --sandbox-dns)");
  }
  std::string resolvers;
  for (auto address : config.resolvers) resolvers += (resolvers.empty() ? "" : ", ") + format_ipv4(address);
  spdlog::info("sandbox network: subnet {}, links {}<n>, nftables table inet {}, resolvers: {}",
               config.sandbox_subnet.to_string(), prefix, config.table,
               resolvers.empty() ? "none" : resolvers);
  auto network = std::unique_ptr<SandboxNetwork>(new SandboxNetwork(std::move(*pool)));
  auto proxy = EgressProxy::open(
      executor, [raw = network.get()](std::uint32_t address) { return raw->tenant_of(address); });
  if (!proxy) return tl::unexpected(proxy.error());
  config.proxy_port = (*proxy)->port();
  (*proxy)->configure(config);
  auto firewall = Firewall::open(std::move(config));
  if (!firewall) return tl::unexpected(firewall.error());
  network->proxy_ = std::move(*proxy);
  network->firewall_ = std::move(*firewall);
  network->proxy_->start();
  return network;
}

SandboxNetwork::SandboxNetwork(AddressPool pool) : pool_(std::move(pool)) {}

std::optional<EgressTenant> SandboxNetwork::tenant_of(std::uint32_t sandbox_address) {
  std::lock_guard lock(mutex_);
  auto it = claimed_.find(sandbox_address);
  if (it == claimed_.end()) return std::nullopt;
  return it->second.tenant;
}

std::string SandboxNetwork::interface_prefix() const {
  return firewall_->config().interface_prefix;
}

Result<runtime::NetworkLink> SandboxNetwork::lease(const std::string& sandbox_id) {
  Lease lease;
  {
    std::lock_guard lock(mutex_);
    auto acquired = pool_.acquire();
    if (!acquired) return tl::unexpected(acquired.error());
    lease = std::move(*acquired);
  }
  runtime::NetworkLink link;
  link.host_interface = lease.interface;
  link.host_address = lease.host_address;
  link.sandbox_address = lease.sandbox_address;
  link.nameservers = resolvers();
  // The default policy (internet, the fixed rules) from the boot on: a claim without rules then changes
  // nothing in the kernel, and one with rules replaces it before the sandbox is handed out. Until its claim
  // only the template's own start-up runs in it.
  const SandboxPort port{sandbox_id, link.host_interface, link.sandbox_address};
  Status ready = firewall_->attach(port);
  if (ready) ready = firewall_->apply(port, address_policy(EgressRules{}, resolvers()));
  if (!ready) {
    (void)firewall_->detach(port);
    std::lock_guard lock(mutex_);
    pool_.release(lease.interface);
    return tl::unexpected(ready.error());
  }
  return link;
}

Status SandboxNetwork::adopt(const std::string& sandbox_id, const runtime::NetworkLinkHandle& link) {
  {
    std::lock_guard lock(mutex_);
    auto adopted = pool_.adopt(link.host_interface);
    if (!adopted) return tl::unexpected(adopted.error());
    if (adopted->sandbox_address != link.sandbox_address) {
      pool_.release(adopted->interface);
      return fail(ErrorCode::kInvalidArgument, "sandbox " + sandbox_id + "'s link " + link.host_interface +
                                                   " does not carry the address this server gives it");
    }
  }
  return firewall_->attach(port_of(sandbox_id, link));
}

Status SandboxNetwork::apply(const std::string& sandbox_id, const runtime::NetworkLinkHandle& link,
                             const EgressRules& rules) {
  if (auto applied = firewall_->apply(port_of(sandbox_id, link), address_policy(rules, resolvers()));
      !applied) {
    return applied;
  }
  {
    std::lock_guard lock(mutex_);
    claimed_[link.sandbox_address] = Claimed{EgressTenant{sandbox_id, rules}, link.host_interface};
  }
  proxy_->revalidate(link.sandbox_address, rules);
  return {};
}

std::map<std::string, TrafficCounters> SandboxNetwork::counters() {
  std::map<std::string, TrafficCounters> out;
  auto by_interface = firewall_->counters();
  if (!by_interface) {
    spdlog::warn("{}", by_interface.error().message);
    return out;
  }
  std::lock_guard lock(mutex_);
  for (const auto& [address, claimed] : claimed_) {
    if (auto it = by_interface->find(claimed.interface); it != by_interface->end()) {
      out[claimed.tenant.sandbox_id] = it->second;
    }
  }
  return out;
}

void SandboxNetwork::release(const std::string& sandbox_id, const runtime::NetworkLinkHandle& link) {
  if (auto c = firewall_->counters(link.host_interface)) {
    spdlog::info(
        "sandbox {} network: sent {} bytes in {} packets, received {} bytes in {} packets, {} connections "
        "opened, {} packets refused",
        sandbox_id, c->out_bytes, c->out_packets, c->in_bytes, c->in_packets, c->connections, c->denied);
  }
  if (auto detached = firewall_->detach(port_of(sandbox_id, link)); !detached) {
    spdlog::error("releasing sandbox {}'s network: {}", sandbox_id, detached.error().message);
  }
  {
    std::lock_guard lock(mutex_);
    claimed_.erase(link.sandbox_address);
    pool_.release(link.host_interface);
  }
  proxy_->revalidate(link.sandbox_address, std::nullopt);
}

}  // namespace cellblock::net
