#pragma once
// User namespace: ids 0..65535 inside map to kSandboxIdBase.. on the host, so root inside owns nothing
// outside.

#include <sys/types.h>

#include "common/error.h"
#include "runtime/ns/step.h"

namespace cellblock::runtime::ns {

// Parent side, before releasing the child: writes uid_map and gid_map of `pid`. The server is real root, so
// setgroups stays allowed (the sandbox's own agent calls setgroups when it drops to its `user`).
Status write_id_maps(pid_t pid);

// Child side, after release: switch to uid/gid 0 inside (host 100000) and drop the host's supplementary
// groups.
StepResult become_root();

}  // namespace cellblock::runtime::ns
