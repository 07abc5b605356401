#pragma once
// Resource limits through cgroups. On hybrid hosts (like the build/CI machines, whose cgroup2 has only
// hugetlb) the limits go through the v1 memory, pids, cpu and cpuacct hierarchies (and pausing through the v1
// freezer, where it is mounted) under
// <root>/<controller>/<parent>/<id>; where cgroup2 offers memory, pids and cpu, one v2 group
// <v2 mount>/<parent>/<id> is used instead. The layout is detected once, when the runtime is created.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"
#include "runtime/ns/step.h"
#include "runtime/runtime.h"

namespace cellblock::runtime::ns {

struct CgroupLayout {
  bool unified = false;                  // cgroup2 with memory, pids and cpu
  std::vector<std::string> parents;      // v1: one per controller; v2: one
  std::vector<std::string> controllers;  // v1: the controller of each parent; v2: empty
};

// Parent side.
// `cpu_weight` (v2 scale 1-10000) is the weight of the parent group, i.e. of all sandboxes together.
Result<CgroupLayout> detect_cgroup_layout(const std::string& cgroup_root, const std::string& parent_name,
                                          std::uint32_t cpu_weight = 100);
// Creates the sandbox's groups and writes the limits; returns the group directories (for the handle).
Result<std::vector<std::string>> create_cgroups(const CgroupLayout& layout, const std::string& id,
                                                const Limits& limits);
Status attach_to_cgroups(const std::vector<std::string>& groups, pid_t pid);
// SIGKILLs every process listed in the groups until all are empty or `timeout` passes.
Status kill_cgroup_processes(const std::vector<std::string>& groups, std::chrono::milliseconds timeout);
// Removes the groups (missing ones are fine).
Status remove_cgroups(const std::vector<std::string>& groups);
// Freezes (or thaws) every process of the groups and waits until the kernel reports them all stopped (v1
// freezer.state FROZEN, v2 cgroup.events "frozen 1"); a freezer-less group is an error.
Status freeze_cgroups(const std::vector<std::string>& groups, bool frozen);
Result<std::uint64_t> cgroup_memory_bytes(const std::vector<std::string>& groups);
Result<std::uint64_t> cgroup_cpu_ns(const std::vector<std::string>& groups);

// Child side, after the parent attached it: a cgroup namespace rooted at the sandbox's own groups, so
// /proc/self/cgroup inside shows "/" and no host paths.
StepResult enter_cgroup_namespace();

}  // namespace cellblock::runtime::ns
