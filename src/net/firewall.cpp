#include "net/firewall.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <nftables/libnftables.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "common/unique_fd.h"

namespace cellblock::net {

namespace {

Status enable_forwarding() {
  std::ofstream out("/proc/sys/net/ipv4/ip_forward");
  out << "1\n";
  out.flush();
  if (!out)
    return tl::unexpected(system_error("enabling IPv4 forwarding (/proc/sys/net/ipv4/ip_forward)", errno));
  return {};
}

// One netlink attribute of a 32-bit big-endian value.
void put_u32_attribute(std::string& message, std::uint16_t type, std::uint32_t value) {
  nlattr attribute{};
  attribute.nla_len = NLA_HDRLEN + sizeof(value);
  attribute.nla_type = type;
  std::uint32_t wire = htonl(value);
  message.append(reinterpret_cast<const char*>(&attribute), NLA_HDRLEN);
  message.append(reinterpret_cast<const char*>(&wire), sizeof(wire));
}

}  // namespace

Result<std::unique_ptr<Firewall>> Firewall::open(FirewallConfig config) {
  nft_ctx* context = nft_ctx_new(NFT_CTX_DEFAULT);
  if (context == nullptr) return fail(ErrorCode::kInternal, "libnftables: no context");
  nft_ctx_buffer_output(context);
  nft_ctx_buffer_error(context);
  std::unique_ptr<Firewall> firewall(new Firewall(std::move(config), context));
  if (auto installed = firewall->run(base_ruleset(firewall->config_), "installing the sandbox firewall");
      !installed) {
    return tl::unexpected(installed.error());
  }
  if (auto forwarding = enable_forwarding(); !forwarding) return tl::unexpected(forwarding.error());
  return firewall;
}

Firewall::Firewall(FirewallConfig config, nft_ctx* context) : config_(std::move(config)), context_(context) {}

Firewall::~Firewall() {
  nft_ctx_free(context_);
}

Status Firewall::run(const std::string& script, std::string_view what) {
  if (nft_run_cmd_from_buffer(context_, script.c_str()) == 0) return {};
  std::string detail = nft_ctx_get_error_buffer(context_);
  while (!detail.empty() && detail.back() == '\n') detail.pop_back();
  return fail(ErrorCode::kInternal, fmt::format("{}: nftables refused the rules: {}", what, detail));
}

Status Firewall::attach(const SandboxPort& port) {
  std::lock_guard lock(mutex_);
  if (auto attached =
          run(attach_script(config_.table, port), "attaching sandbox " + port.id + " to the firewall");
      !attached) {
    return attached;
  }
  attached_.insert(port.interface);
  return {};
}

Status Firewall::apply(const SandboxPort& port, const EgressPolicy& policy) {
  {
    std::lock_guard lock(mutex_);
    if (!attached_.contains(port.interface)) {
      return fail(ErrorCode::kInternal, "sandbox " + port.id + " has no firewall port to apply rules to");
    }
    auto current = with_policy_.find(port.interface);
    if (current != with_policy_.end() && current->second == policy) return {};  // e.g. a claim with no rules
    const bool inspected = current != with_policy_.end() && current->second.inspect;
    if (auto applied = run(policy_script(config_.table, port, policy, inspected),
                           "applying sandbox " + port.id + "'s egress rules");
        !applied) {
      return applied;
    }
    with_policy_[port.interface] = policy;
  }
  // Open connections stay tracked on purpose: the policy is evaluated per packet, so the sandbox's next
  // packet on a forbidden one (at the latest its acknowledgement of the peer's next data) is answered with a
  // reset. Flushing them here would leave the peer's data at the host and the sandbox waiting.
  return {};
}

Status Firewall::detach(const SandboxPort& port) {
  {
    std::lock_guard lock(mutex_);
    if (!attached_.contains(port.interface)) return {};
    auto current = with_policy_.find(port.interface);
    const bool with_policy = current != with_policy_.end();
    const bool inspected = with_policy && current->second.inspect;
    if (auto detached = run(detach_script(config_.table, port, with_policy, inspected),
                            "detaching sandbox " + port.id + " from the firewall");
        !detached) {
      return detached;
    }
    attached_.erase(port.interface);
    with_policy_.erase(port.interface);
  }
  return flush_connections(port.address);
}

Status Firewall::remove() {
  std::lock_guard lock(mutex_);
  attached_.clear();
  with_policy_.clear();
  return run(fmt::format("table inet {0}\ndelete table inet {0}\n", config_.table),
             "removing the sandbox firewall");
}

Result<std::map<std::string, TrafficCounters>> Firewall::counters() {
  return list_counters(fmt::format("list counters table inet {}", config_.table));
}

Result<TrafficCounters> Firewall::counters(const std::string& interface) {
  std::string commands;
  for (auto kind : kCounterKinds) {
    commands += fmt::format("list counter inet {} {}\n", config_.table, counter_name(kind, interface));
  }
  auto listed = list_counters(commands);
  if (!listed) return tl::unexpected(listed.error());
  return (*listed)[interface];
}

Result<std::map<std::string, TrafficCounters>> Firewall::list_counters(const std::string& commands) {
  std::string listing;
  {
    std::lock_guard lock(mutex_);
    const unsigned flags = nft_ctx_output_get_flags(context_);
    nft_ctx_output_set_flags(context_, flags | NFT_CTX_OUTPUT_JSON);
    Status listed = run(commands, "reading the sandboxes' traffic counters");
    if (listed) listing = nft_ctx_get_output_buffer(context_);
    nft_ctx_output_set_flags(context_, flags);
    if (!listed) return tl::unexpected(listed.error());
  }
  return parse_counter_listing(listing);
}

Status flush_connections(std::uint32_t mark) {
  UniqueFd socket(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER));
  if (!socket.valid()) return tl::unexpected(system_error("opening a conntrack netlink socket", errno));
  // A delete without a tuple is a flush, filtered by mark (nf_conntrack_netlink).
  std::string message(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)), '\0');
  put_u32_attribute(message, CTA_MARK, mark);
  put_u32_attribute(message, CTA_MARK_MASK, 0xffffffff);
  auto* header = reinterpret_cast<nlmsghdr*>(message.data());
  header->nlmsg_len = static_cast<std::uint32_t>(message.size());
  header->nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
  header->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  header->nlmsg_seq = 1;
  auto* family = reinterpret_cast<nfgenmsg*>(message.data() + NLMSG_HDRLEN);
  family->nfgen_family = AF_INET;
  family->version = NFNETLINK_V0;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(socket.get(), message.data(), message.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) < 0) {
    return tl::unexpected(system_error("flushing a sandbox's tracked connections", errno));
  }
  std::array<char, 4096> reply{};
  ssize_t got = ::recv(socket.get(), reply.data(), reply.size(), 0);
  if (got < static_cast<ssize_t>(NLMSG_HDRLEN + sizeof(nlmsgerr))) {
    return tl::unexpected(system_error("reading the conntrack flush's answer", got < 0 ? errno : EPROTO));
  }
  const auto* answer = reinterpret_cast<const nlmsghdr*>(reply.data());
  if (answer->nlmsg_type == NLMSG_ERROR) {
    const auto* error = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(answer));
    // ENOENT: nothing carried the mark.
    if (error->error != 0 && error->error != -ENOENT) {
      return tl::unexpected(system_error("flushing a sandbox's tracked connections", -error->error));
    }
  }
  return {};
}

}  // namespace cellblock::net
