#include "runtime/ns/veth.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "common/unique_fd.h"

namespace cellblock::runtime::ns {

namespace {

constexpr char kSandboxEnd[] = "eth0";
constexpr unsigned char kPrefixLength = 31;

// One rtnetlink request in a fixed buffer: the netlink header, the family's fixed part, then attributes.
// Every request here is built from bounded pieces (interface names have at most 15 bytes), so running out of
// room would be a bug: it aborts.
class Request {
 public:
  // With NLM_F_ACK the kernel answers a change even when it succeeds; a get request (no flags) is answered
  // with the object asked for.
  Request(std::uint16_t type, int flags) {
    header()->nlmsg_len = NLMSG_HDRLEN;
    header()->nlmsg_type = type;
    header()->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  }
  nlmsghdr* header() { return reinterpret_cast<nlmsghdr*>(buffer_); }

  // The family's fixed part (ifinfomsg, ifaddrmsg, rtmsg), zeroed: right after the header, or first in a
  // nest (VETH_INFO_PEER).
  template <class T>
  T* add_fixed() {
    return static_cast<T*>(reserve(NLMSG_ALIGN(sizeof(T))));
  }
  void add(std::uint16_t type, const void* data, std::size_t size) {
    auto* attribute = static_cast<rtattr*>(reserve(RTA_SPACE(size)));
    attribute->rta_type = type;
    attribute->rta_len = static_cast<std::uint16_t>(RTA_LENGTH(size));
    if (size > 0) std::memcpy(RTA_DATA(attribute), data, size);
  }
  void add_u32(std::uint16_t type, std::uint32_t value) { add(type, &value, sizeof value); }
  void add_string(std::uint16_t type, const char* text) { add(type, text, std::strlen(text) + 1); }
  // What is added until end_nest(begin_nest(type)) goes inside the attribute `type`.
  std::size_t begin_nest(std::uint16_t type) {
    std::size_t at = header()->nlmsg_len;
    add(type, nullptr, 0);
    return at;
  }
  void end_nest(std::size_t at) {
    reinterpret_cast<rtattr*>(buffer_ + at)->rta_len = static_cast<std::uint16_t>(header()->nlmsg_len - at);
  }

 private:
  void* reserve(std::size_t size) {
    std::size_t at = header()->nlmsg_len;
    if (at + size > sizeof buffer_) std::abort();
    std::memset(buffer_ + at, 0, size);
    header()->nlmsg_len = static_cast<std::uint32_t>(at + size);
    return buffer_ + at;
  }

  alignas(nlmsghdr) unsigned char buffer_[512] = {};
};

// The kernel's answer to one request.
struct Answer {
  int err = 0;                        // 0, or the errno of the refusal
  const char* explanation = nullptr;  // the kernel's extended-ack message, when it gave one
  const nlmsghdr* object = nullptr;   // what a get request asked for
  alignas(nlmsghdr) unsigned char buffer[8192];
};

// Calls visit(type, data, size) for each attribute in [start, start + length).
template <class Visit>
void for_each_attribute(const unsigned char* start, std::size_t length, Visit visit) {
  while (length >= RTA_LENGTH(0)) {
    const auto* attribute = reinterpret_cast<const rtattr*>(start);
    if (attribute->rta_len < RTA_LENGTH(0) || attribute->rta_len > length) return;
    visit(attribute->rta_type & NLA_TYPE_MASK, start + RTA_LENGTH(0), attribute->rta_len - RTA_LENGTH(0));
    std::size_t step = RTA_ALIGN(attribute->rta_len);
    if (step >= length) return;
    start += step;
    length -= step;
  }
}

int open_rtnetlink() {
  int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return -1;
  // Refusals come back without a copy of the request and with the kernel's explanation. Both are optional.
  int on = 1;
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on);
  (void)::setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
  return fd;
}

void read_acknowledgement(const nlmsghdr* message, Answer& answer) {
  const auto* error = static_cast<const nlmsgerr*>(NLMSG_DATA(message));
  answer.err = -error->error;
  if ((message->nlmsg_flags & NLM_F_ACK_TLVS) == 0) return;
  std::size_t echoed = (message->nlmsg_flags & NLM_F_CAPPED) ? 0 : error->msg.nlmsg_len - NLMSG_HDRLEN;
  std::size_t offset = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nlmsgerr) + echoed);
  if (offset >= message->nlmsg_len) return;
  const auto* start = reinterpret_cast<const unsigned char*>(message) + offset;
  for_each_attribute(start, message->nlmsg_len - offset,
                     [&](unsigned type, const unsigned char* data, std::size_t size) {
                       if (type == NLMSGERR_ATTR_MSG && size > 0 && data[size - 1] == '\0') {
                         answer.explanation = reinterpret_cast<const char*>(data);
                       }
                     });
}

// Sends `request` and reads until the kernel answers it: an acknowledgement (NLMSG_ERROR, 0 or an errno), or
// the object a get request asked for. One request at a time per socket. Returns answer.err.
int exchange(int fd, Request& request, Answer& answer) {
  answer.err = 0;
  answer.explanation = nullptr;
  answer.object = nullptr;
  while (::send(fd, request.header(), request.header()->nlmsg_len, 0) < 0) {
    if (errno != EINTR) return answer.err = errno;
  }
  for (;;) {
    ssize_t received = ::recv(fd, answer.buffer, sizeof answer.buffer, MSG_TRUNC);
    if (received < 0 && errno == EINTR) continue;
    if (received < 0) return answer.err = errno;
    if (static_cast<std::size_t>(received) > sizeof answer.buffer) return answer.err = EMSGSIZE;
    int remaining = static_cast<int>(received);
    for (auto* message = reinterpret_cast<nlmsghdr*>(answer.buffer); NLMSG_OK(message, remaining);
         message = NLMSG_NEXT(message, remaining)) {
      if (message->nlmsg_type == NLMSG_ERROR) {
        read_acknowledgement(message, answer);
        return answer.err;
      }
      if (message->nlmsg_type == NLMSG_NOOP) continue;
      answer.object = message;
      return 0;
    }
  }
}

// The requests, shared by both sides.

Request set_up(int index) {
  Request request(RTM_NEWLINK, NLM_F_ACK);
  auto* info = request.add_fixed<ifinfomsg>();
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  info->ifi_flags = IFF_UP;
  info->ifi_change = IFF_UP;
  return request;
}

Request add_address(int index, in_addr address) {
  Request request(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  auto* info = request.add_fixed<ifaddrmsg>();
  info->ifa_family = AF_INET;
  info->ifa_prefixlen = kPrefixLength;
  info->ifa_scope = RT_SCOPE_UNIVERSE;
  info->ifa_index = static_cast<std::uint32_t>(index);
  request.add(IFA_LOCAL, &address, sizeof address);
  request.add(IFA_ADDRESS, &address, sizeof address);
  return request;
}

Request add_default_route(int index, in_addr gateway) {
  Request request(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  auto* route = request.add_fixed<rtmsg>();
  route->rtm_family = AF_INET;
  route->rtm_table = RT_TABLE_MAIN;
  route->rtm_protocol = RTPROT_STATIC;
  route->rtm_scope = RT_SCOPE_UNIVERSE;
  route->rtm_type = RTN_UNICAST;
  request.add(RTA_GATEWAY, &gateway, sizeof gateway);
  request.add_u32(RTA_OIF, static_cast<std::uint32_t>(index));
  return request;
}

// The pair in one request: the host end here, the sandbox end (VETH_INFO_PEER) created in the network
// namespace of `child`. Both down.
Request new_veth_pair(const NetworkLink& link, pid_t child) {
  Request request(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  request.add_fixed<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.add_string(IFLA_IFNAME, link.host_interface.c_str());
  request.add_u32(IFLA_MTU, link.mtu);
  std::size_t link_info = request.begin_nest(IFLA_LINKINFO);
  request.add_string(IFLA_INFO_KIND, "veth");
  std::size_t data = request.begin_nest(IFLA_INFO_DATA);
  std::size_t peer = request.begin_nest(VETH_INFO_PEER);
  request.add_fixed<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.add_string(IFLA_IFNAME, kSandboxEnd);
  request.add_u32(IFLA_MTU, link.mtu);
  request.add_u32(IFLA_NET_NS_PID, static_cast<std::uint32_t>(child));
  request.end_nest(peer);
  request.end_nest(data);
  request.end_nest(link_info);
  return request;
}

// The link carries IPv4 only: without even a link-local IPv6 address on the host end, a sandbox cannot reach
// host services listening on :: through it.
Request without_ipv6_addresses(int index) {
  Request request(RTM_NEWLINK, NLM_F_ACK);
  auto* info = request.add_fixed<ifinfomsg>();
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  std::size_t families = request.begin_nest(IFLA_AF_SPEC);
  std::size_t inet6 = request.begin_nest(AF_INET6);
  std::uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
  request.add(IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof mode);
  request.end_nest(inet6);
  request.end_nest(families);
  return request;
}

// Parent side.

Error refusal(const std::string& what, const Answer& answer) {
  Error error = system_error(what, answer.err);
  if (answer.explanation != nullptr && answer.explanation[0] != '\0') {
    error.message += std::string(" (kernel: ") + answer.explanation + ")";
  }
  return error;
}

Status perform(int fd, Request request, const std::string& what) {
  Answer answer;
  if (exchange(fd, request, answer) != 0) return tl::unexpected(refusal(what, answer));
  return {};
}

struct FoundLink {
  int index = 0;  // 0: no interface of that name
  bool veth = false;
};

Result<FoundLink> find_link(int fd, const std::string& name) {
  Request request(RTM_GETLINK, 0);
  request.add_fixed<ifinfomsg>()->ifi_family = AF_UNSPEC;
  request.add_string(IFLA_IFNAME, name.c_str());
  request.add_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  Answer answer;
  int err = exchange(fd, request, answer);
  if (err == ENODEV) return FoundLink{};
  if (err != 0) return tl::unexpected(refusal("looking up interface " + name, answer));
  const nlmsghdr* object = answer.object;
  if (object == nullptr || object->nlmsg_type != RTM_NEWLINK ||
      object->nlmsg_len < NLMSG_LENGTH(sizeof(ifinfomsg))) {
    return fail(ErrorCode::kInternal, "looking up interface " + name + ": the kernel answered no link");
  }
  const auto* info = static_cast<const ifinfomsg*>(NLMSG_DATA(object));
  FoundLink found{info->ifi_index, false};
  const auto* attributes = reinterpret_cast<const unsigned char*>(info) + NLMSG_ALIGN(sizeof(ifinfomsg));
  for_each_attribute(attributes, object->nlmsg_len - NLMSG_LENGTH(sizeof(ifinfomsg)),
                     [&](unsigned type, const unsigned char* data, std::size_t size) {
                       if (type != IFLA_LINKINFO) return;
                       for_each_attribute(
                           data, size, [&](unsigned info, const unsigned char* text, std::size_t n) {
                             const char* kind = reinterpret_cast<const char*>(text);
                             if (info == IFLA_INFO_KIND)
                               found.veth = std::string_view(kind, ::strnlen(kind, n)) == "veth";
                           });
                     });
  return found;
}

Status delete_link(int fd, int index, const std::string& name) {
  Request request(RTM_DELLINK, NLM_F_ACK);
  auto* info = request.add_fixed<ifinfomsg>();
  info->ifi_family = AF_UNSPEC;
  info->ifi_index = index;
  Answer answer;
  // ENODEV: gone meanwhile, with the network namespace of its sandbox end.
  if (int err = exchange(fd, request, answer); err != 0 && err != ENODEV) {
    return tl::unexpected(refusal("deleting host interface " + name, answer));
  }
  return {};
}

// Addressed host_address/31 and up; IPv6 addresses off first, so none is ever made.
Status configure_host_end(int fd, const NetworkLink& link) {
  const std::string& name = link.host_interface;
  int index = static_cast<int>(::if_nametoindex(name.c_str()));
  if (index == 0) return tl::unexpected(system_error("finding the new host interface " + name, errno));
  Answer answer;
  Request no_ipv6 = without_ipv6_addresses(index);
  // EAFNOSUPPORT: a kernel without IPv6 makes no IPv6 addresses anyway.
  if (int err = exchange(fd, no_ipv6, answer); err != 0 && err != EAFNOSUPPORT) {
    return tl::unexpected(refusal("turning off IPv6 addresses on host interface " + name, answer));
  }
  in_addr address{htonl(link.host_address)};
  if (auto s = perform(fd, add_address(index, address), "adding the address to host interface " + name); !s)
    return s;
  return perform(fd, set_up(index), "bringing up host interface " + name);
}

bool unicast(std::uint32_t address) {
  std::uint32_t first_octet = address >> 24;
  return first_octet != 0 && first_octet != 127 && first_octet < 224;
}

}  // namespace

Status validate_link(const NetworkLink& link) {
  const std::string& name = link.host_interface;
  if (name.empty() || name.size() >= IFNAMSIZ ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos) {
    return fail(ErrorCode::kInvalidArgument,
                "network link: host_interface '" + name + "' must be 1-15 of [a-z0-9-]");
  }
  if ((link.host_address ^ link.sandbox_address) != 1 || !unicast(link.host_address)) {
    return fail(ErrorCode::kInvalidArgument,
                "network link: host_address and sandbox_address must be the two unicast addresses of one /31 "
                "(e.g. 100.88.0.0 and 100.88.0.1)");
  }
  if (link.mtu < 68 || link.mtu > 65535) {
    return fail(ErrorCode::kInvalidArgument, "network link: mtu must be 68-65535");
  }
  for (std::uint32_t nameserver : link.nameservers) {
    if (nameserver == 0) return fail(ErrorCode::kInvalidArgument, "network link: nameserver 0.0.0.0");
  }
  return {};
}

LinkPlan plan_link(const NetworkLink& link) {
  LinkPlan plan;
  plan.sandbox_address.s_addr = htonl(link.sandbox_address);
  plan.host_address.s_addr = htonl(link.host_address);
  for (std::uint32_t nameserver : link.nameservers) {
    in_addr address{htonl(nameserver)};
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &address, text, sizeof text);
    plan.resolv_conf += std::string("nameserver ") + text + "\n";
  }
  return plan;
}

Status create_veth(const NetworkLink& link, pid_t child) {
  const std::string& name = link.host_interface;
  UniqueFd fd(open_rtnetlink());
  if (!fd.valid()) return tl::unexpected(system_error("opening an rtnetlink socket", errno));
  Request pair = new_veth_pair(link, child);
  Answer answer;
  int err = exchange(fd.get(), pair, answer);
  if (err == EEXIST) {
    // Left behind by a run that died before deleting it. A host end that is no veth is someone else's.
    auto found = find_link(fd.get(), name);
    if (!found) return tl::unexpected(found.error());
    if (found->index != 0 && !found->veth) {
      return fail(ErrorCode::kAlreadyExists, "host interface " + name +
                                                 " exists and is not a veth: give the sandbox's link another "
                                                 "name");
    }
    if (found->index != 0) {
      if (auto s = delete_link(fd.get(), found->index, name); !s) return s;
    }
    err = exchange(fd.get(), pair, answer);
  }
  if (err != 0) {
    std::string what =
        "creating the veth pair " + name + " <-> eth0 of sandbox process " + std::to_string(child);
    if (err == EOPNOTSUPP) what += " (the kernel has no veth driver: modprobe veth)";
    return tl::unexpected(refusal(what, answer));
  }
  if (auto s = configure_host_end(fd.get(), link); !s) {
    (void)delete_veth(name);
    return s;
  }
  return {};
}

Status delete_veth(const std::string& host_interface) {
  UniqueFd fd(open_rtnetlink());
  if (!fd.valid()) return tl::unexpected(system_error("opening an rtnetlink socket", errno));
  auto found = find_link(fd.get(), host_interface);
  if (!found) return tl::unexpected(found.error());
  if (found->index == 0 || !found->veth) return {};
  return delete_link(fd.get(), found->index, host_interface);
}

// Child side: no allocation from here on.

namespace {

StepResult configure_eth0(int fd, const LinkPlan& plan) {
  int index = static_cast<int>(::if_nametoindex(kSandboxEnd));
  if (index == 0) return step_failed(ContainStep::kLink, errno, "eth0 missing");
  Answer answer;
  Request up = set_up(index);
  if (exchange(fd, up, answer) != 0) return step_failed(ContainStep::kLink, answer.err, "eth0 up");
  Request address = add_address(index, plan.sandbox_address);
  if (exchange(fd, address, answer) != 0) return step_failed(ContainStep::kLink, answer.err, "eth0 address");
  Request route = add_default_route(index, plan.host_address);
  if (exchange(fd, route, answer) != 0) return step_failed(ContainStep::kLink, answer.err, "default route");
  return step_ok();
}

}  // namespace

StepResult configure_sandbox_end(const LinkPlan& plan) {
  int fd = open_rtnetlink();
  if (fd < 0) return step_failed(ContainStep::kLink, errno, "rtnetlink socket");
  StepResult result = configure_eth0(fd, plan);
  ::close(fd);
  return result;
}

StepResult write_resolv_conf(const LinkPlan& plan) {
  if (plan.resolv_conf.empty()) return step_ok();
  constexpr const char* kPath = "/etc/resolv.conf";
  // A template may ship it as a symlink (to systemd-resolved's stub, say): the sandbox gets a plain file.
  if (::unlink(kPath) != 0 && errno != ENOENT) return step_failed(ContainStep::kResolvConf, errno, kPath);
  int fd = ::open(kPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return step_failed(ContainStep::kResolvConf, errno, kPath);
  const char* data = plan.resolv_conf.data();
  std::size_t left = plan.resolv_conf.size();
  int err = ::fchmod(fd, 0644) == 0 ? 0 : errno;  // whatever the server's umask
  while (err == 0 && left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0 && errno == EINTR) continue;
    if (written < 0) err = errno;
    if (written > 0) {
      data += written;
      left -= static_cast<std::size_t>(written);
    }
  }
  ::close(fd);
  if (err != 0) return step_failed(ContainStep::kResolvConf, err, kPath);
  return step_ok();
}

}  // namespace cellblock::runtime::ns
