#pragma once
// Resource limits per process (what cgroups do not cover). Applied by the parent with prlimit() before it
// releases the child: raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace, which the
// child, inside its own user namespace, no longer has.

#include <sys/types.h>

#include "common/error.h"

namespace cellblock::runtime::ns {

// Parent side. (No child side: the limits are inherited through execve.)
Status apply_rlimits(pid_t pid);

}  // namespace cellblock::runtime::ns
