#pragma once
// The containment sequence of a sandbox's PID 1, run in the child between clone3 and execve.

#include <optional>
#include <string>

#include "runtime/ns/mounts.h"
#include "runtime/ns/process_start.h"
#include "runtime/ns/seccomp_filter.h"
#include "runtime/ns/veth.h"

namespace cellblock::runtime::ns {

// Everything the child needs, built by the parent before clone3 (the child must not allocate).
struct ContainPlan {
  MountPlan mounts;
  ExecPlan exec;
  std::string hostname;
  std::optional<LinkPlan> link;  // SandboxSpec::network; none: loopback only
  const SeccompProgram* seccomp = nullptr;
};

// Runs every step in order and execs PID 1; returns only the step that failed.
StepResult contain(const ContainPlan& plan);

// Child entry point after clone3: contain, or report the failed step on the report pipe and exit.
[[noreturn]] void run_contained(const ContainPlan& plan);

}  // namespace cellblock::runtime::ns
