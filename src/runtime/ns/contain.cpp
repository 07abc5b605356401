#include "runtime/ns/contain.h"

#include "runtime/ns/cgroups.h"
#include "runtime/ns/landlock.h"
#include "runtime/ns/net.h"
#include "runtime/ns/user_ns.h"
#include "runtime/ns/veth.h"

namespace cellblock::runtime::ns {

// Read top to bottom, this is the order of containment. Before the release the parent has already written the
// id maps (user_ns), the rlimits (rlimits), moved this process into its cgroups (cgroups) and, when the
// sandbox has a network link, created the veth pair with eth0 in this network namespace (veth).
StepResult contain(const ContainPlan& plan) {
  if (auto r = wait_for_release(plan.exec.release_fd); !r) return r;
  if (auto r = become_root(); !r) return r;
  if (auto r = enter_cgroup_namespace(); !r) return r;
  // 1-6: the file system.
  if (auto r = make_mounts_private(); !r) return r;
  if (auto r = mount_disk_quota(plan.mounts); !r) return r;
  int disk_fd = -1;
  if (auto r = open_disk(plan.mounts, disk_fd); !r) return r;
  if (auto r = mount_overlay(plan.mounts); !r) return r;
  int root_fd = -1;
  if (auto r = open_new_root(plan.mounts, root_fd); !r) return r;
  if (auto r = mount_binds(plan.mounts, root_fd); !r) return r;
  if (auto r = mount_proc(root_fd); !r) return r;
  if (auto r = mount_dev(plan.mounts, root_fd); !r) return r;
  if (auto r = prepare_tmp(root_fd); !r) return r;
  if (auto r = pivot_into(root_fd); !r) return r;
  // 7-8: network and name.
  if (auto r = bring_up_loopback(); !r) return r;
  if (plan.link) {
    if (auto r = configure_sandbox_end(*plan.link); !r) return r;
    if (auto r = write_resolv_conf(*plan.link); !r) return r;
  }
  if (auto r = set_hostname(plan.hostname.c_str()); !r) return r;
  // 9-11: the process itself; seccomp last, because it denies mount, pivot_root and unshare used above.
  if (auto r = prepare_stdio(plan.exec, disk_fd); !r) return r;
  if (auto r = reset_signals(); !r) return r;
  if (auto r = apply_landlock_scopes(); !r) return r;
  if (auto r = install_seccomp(*plan.seccomp); !r) return r;
  return exec_pid1(plan.exec);
}

void run_contained(const ContainPlan& plan) {
  // Without this the child would hold the release pipe's write end itself and never see EOF if the server
  // died.
  close_parent_ends(plan.exec);
  report_and_exit(plan.exec.report_fd, contain(plan));
}

}  // namespace cellblock::runtime::ns
