#pragma once
// Landlock, where the kernel has it (ABI 6+): the sandbox's processes get their own Landlock domain scoped
// for signals and abstract Unix sockets, so nothing inside can signal or connect to a process outside the
// sandbox even if a namespace were shared by mistake. Child side only; system calls, no allocation.

#include "runtime/ns/step.h"

namespace cellblock::runtime::ns {

// Skips silently (step_ok) on kernels without Landlock or with an ABI older than 6.
StepResult apply_landlock_scopes();

}  // namespace cellblock::runtime::ns
