#pragma once
// Mount namespace: a tmpfs (the disk quota) holding the overlay's upper and work dirs, the overlay root over
// the saved layers (SandboxSpec::layers) and the template rootfs, bind mounts, /proc, a minimal /dev, then
// pivot_root. /tmp is no mount of its own: it is a directory of the overlay, so what the sandbox writes there
// counts against the one disk quota and belongs to the writable layer. All of it lives only in the sandbox's
// own mount namespace: the host sees empty directories under sandbox_dir, so there is nothing to unmount on
// the host afterwards.
//
// Every mount target inside the new root is resolved with openat2(RESOLVE_IN_ROOT) and mounted through
// /proc/self/fd/N, so a symlink planted in a template (e.g. /opt -> /etc) cannot redirect a mount onto the
// host.

#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/ns/step.h"
#include "runtime/runtime.h"

namespace cellblock::runtime::ns {

struct PlannedBind {
  std::string source;     // host path
  std::string target;     // path inside the new root, without the leading '/'
  bool directory = true;  // what to create at the target when it is missing
  unsigned long remount_flags =
      0;  // MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV [| MS_RDONLY] + locked flags
};

struct MountPlan {
  std::string disk_dir;  // <sandbox_dir>/disk: mount point of the quota tmpfs
  std::string disk_options;
  std::string upper_dir;
  std::string work_dir;
  std::string root_dir;  // <sandbox_dir>/root: mount point of the overlay, the sandbox's "/"
  std::string overlay_options;
  std::vector<PlannedBind> binds;  // spec.binds + <sandbox_dir>/run -> /run/cellblock
  std::string shm_options;
};

// Whether `path` can be named in overlayfs' options (a rootfs, a layer, the upper and work dirs).
bool overlay_safe(const std::string& path);

// Parent side: the host directories under sandbox_dir (which must not exist yet) and the plan the child
// follows. `run_dir` is chowned to the sandbox's root so the agent can create its socket there.
Result<MountPlan> prepare_mounts(const SandboxSpec& spec);

// Child side, in this order (see contain.cpp).
StepResult make_mounts_private();
StepResult mount_disk_quota(const MountPlan& plan);
// An O_PATH descriptor of the quota tmpfs (upper/ and work/), close-on-exec; prepare_stdio gives it to PID 1
// under SandboxHandle::disk_fd.
StepResult open_disk(const MountPlan& plan, int& disk_fd);
StepResult mount_overlay(const MountPlan& plan);
StepResult open_new_root(const MountPlan& plan, int& root_fd);
StepResult mount_binds(const MountPlan& plan, int root_fd);
StepResult mount_proc(int root_fd);
StepResult mount_dev(const MountPlan& plan, int root_fd);
StepResult prepare_tmp(int root_fd);
StepResult pivot_into(int root_fd);

}  // namespace cellblock::runtime::ns
