#pragma once
// The sandbox's network link to the host (SandboxSpec::network): a veth pair made over rtnetlink, without an
// `ip` process. The parent creates it between clone3 and the release, the sandbox end (eth0) directly in the
// child's network namespace; the child gives eth0 its address and default route and writes its resolv.conf;
// cleanup deletes the host end, which takes the sandbox end with it. Without a link none of this runs and
// the namespace keeps only its loopback (net.h).
//
// Requests are built in fixed buffers and exchanged without allocating: the child uses the same code between
// clone3 and execve (step.h).

#include <netinet/in.h>
#include <sys/types.h>

#include <string>

#include "common/error.h"
#include "runtime/ns/step.h"
#include "runtime/runtime.h"

namespace cellblock::runtime::ns {

// What the child needs for its end, built before clone3.
struct LinkPlan {
  in_addr sandbox_address{};  // network byte order
  in_addr host_address{};
  std::string resolv_conf;  // the whole file, "nameserver a.b.c.d" lines; empty: the template's file stays
};

// Parent side.
// Name, addresses and MTU, checked before anything is created.
Status validate_link(const NetworkLink& link);
LinkPlan plan_link(const NetworkLink& link);
// The host end `link.host_interface`, addressed host_address/31 and up, without IPv6 addresses; the sandbox
// end eth0 in the network namespace of `child`, down and unaddressed. A veth of the same name left behind
// (a crashed run) is deleted first; any other interface of that name is an error. On failure nothing stays.
Status create_veth(const NetworkLink& link, pid_t child);
// Deletes the veth named `host_interface` and so both ends. Idempotent: no interface of that name, or one
// that is not a veth (so not the sandbox's), is success.
Status delete_veth(const std::string& host_interface);

// Child side, after pivot_into: eth0 up with sandbox_address/31 and the default route through the host end;
// then /etc/resolv.conf as a plain file of the writable layer, when the plan has one.
StepResult configure_sandbox_end(const LinkPlan& plan);
StepResult write_resolv_conf(const LinkPlan& plan);

}  // namespace cellblock::runtime::ns
