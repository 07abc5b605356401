#include "runtime/ns/step.h"

#include <cstring>
#include <string>

#include "runtime/id_shift.h"

namespace cellblock::runtime::ns {

ChildReport make_report(const StepResult& result) {
  ChildReport report;
  report.step = result.step;
  report.err = result.err;
  if (result.detail != nullptr) {
    std::size_t i = 0;
    for (; result.detail[i] != '\0' && i + 1 < sizeof(report.detail); ++i)
      report.detail[i] = result.detail[i];
    report.detail[i] = '\0';
  }
  return report;
}

namespace {

struct StepText {
  const char* what;
  const char* hint;
};

StepText step_text(ContainStep step) {
  switch (step) {
    case ContainStep::kNone:
      return {"no step", ""};
    case ContainStep::kWaitRelease:
      return {"waiting for the runtime to finish the parent-side set-up",
              "the server stopped half-way through starting the sandbox; retry"};
    case ContainStep::kBecomeRoot:
      return {"becoming root inside the user namespace",
              "the uid/gid maps were not accepted; check that the kernel allows user namespaces "
              "(user.max_user_namespaces > 0)"};
    case ContainStep::kCgroupNamespace:
      return {"creating the sandbox's cgroup namespace", "the kernel needs CONFIG_CGROUPS with namespaces"};
    case ContainStep::kPrivateMounts:
      return {"making the mount tree private", "the kernel refused mount propagation changes"};
    case ContainStep::kDiskQuota:
      return {
          "mounting the disk-quota tmpfs",
          "every directory above sandbox_dir must be searchable by the sandbox's mapped root (uid 100000): "
          "chmod o+x on each; limits.disk_bytes must be > 0"};
    case ContainStep::kOverlay:
      return {
          "mounting the overlay root (lower = saved layers + template rootfs)",
          "the rootfs and the layers must be distinct plain directories without submounts whose parents are "
          "searchable by uid 100000 (chmod o+x); the kernel needs overlayfs with the userxattr option "
          "(Linux 5.11+)"};
    case ContainStep::kOpenRoot:
      return {"opening the new root", "the overlay mount did not come up; see the overlay step"};
    case ContainStep::kBindMount:
      return {
          "bind-mounting into the sandbox",
          "the host path must exist and be reachable by uid 100000 (chmod o+x on its parents); the sandbox "
          "path must not be a dangling symlink in the template"};
    case ContainStep::kProc:
      return {"mounting /proc", "the host must have an unobstructed /proc (no masked paths over it)"};
    case ContainStep::kDev:
      return {"building /dev", "the host needs /dev/null, zero, full, random, urandom, tty and devpts"};
    case ContainStep::kTmp:
      return {"making /tmp a sticky world-writable directory (mode 1777) in the writable layer",
              "the template's /tmp must be a directory (or missing) owned by the sandbox's root: "
              "shift_ownership the template"};
    case ContainStep::kPivotRoot:
      return {"pivoting into the new root", "the overlay root must be a mount point; this is a runtime bug"};
    case ContainStep::kLoopback:
      return {"bringing up the loopback interface", "the kernel needs network namespaces with loopback"};
    case ContainStep::kLink:
      return {"configuring eth0, the sandbox's end of its network link",
              "host_address and sandbox_address must form one /31; nothing on the host (a network manager, a "
              "udev rule) may rename or delete the host end while the sandbox starts"};
    case ContainStep::kResolvConf:
      return {"writing /etc/resolv.conf inside the sandbox",
              "the template's /etc must be a directory and its /etc/resolv.conf a file or a symlink, not a "
              "directory or a bind mount"};
    case ContainStep::kHostname:
      return {"setting the hostname", "the hostname must be 1-64 characters"};
    case ContainStep::kStdio:
      return {"setting up PID 1's standard streams", "stdout_fd/stderr_fd must be open descriptors > 2"};
    case ContainStep::kSignals:
      return {"resetting signal dispositions", "this is a runtime bug"};
    case ContainStep::kLandlock:
      return {"restricting the sandbox with Landlock scopes", "the kernel's Landlock refused the ruleset"};
    case ContainStep::kSeccomp:
      return {"installing the seccomp filter",
              "check the seccomp policy file; the kernel needs CONFIG_SECCOMP_FILTER"};
    case ContainStep::kExec:
      return {
          "executing PID 1",
          "argv[0] must exist inside the sandbox (template rootfs or a bind mount) and be executable by root "
          "inside: owned by a shifted uid (shift_ownership) or world-executable"};
  }
  return {"unknown step", "this is a runtime bug"};
}

}  // namespace

Error describe_failure(const ChildReport& report) {
  StepText text = step_text(report.step);
  std::string what = std::string("sandbox start failed: ") + text.what;
  if (report.detail[0] != '\0') what += std::string(" (") + report.detail + ")";
  Error error = system_error(what, report.err);
  error.message += "; " + std::string(text.hint);
  return error;
}

}  // namespace cellblock::runtime::ns
