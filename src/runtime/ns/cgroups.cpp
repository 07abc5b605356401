#include "runtime/ns/cgroups.h"

#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <fstream>
#include <sstream>
#include <thread>

namespace cellblock::runtime::ns {

namespace {

constexpr std::uint64_t kCpuPeriodUs = 100000;
const char* const kV1Controllers[] = {"memory", "pids", "cpu", "cpuacct"};
// Optional: without it sandboxes run, but cannot be paused with their memory.
constexpr const char* kV1Freezer = "freezer";
constexpr auto kFreezeTimeout = std::chrono::seconds(10);

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return tl::unexpected(system_error("reading " + path, errno));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

Status write_file(const std::string& path, const std::string& value) {
  std::ofstream out(path);
  if (!out) return tl::unexpected(system_error("opening " + path, errno));
  out << value;
  out.flush();
  if (!out) return tl::unexpected(system_error("writing '" + value + "' to " + path, errno));
  return {};
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return tl::unexpected(system_error("creating cgroup " + path, errno));
  }
  return {};
}

bool has_controllers(const std::string& controllers_file) {
  auto content = read_file(controllers_file);
  if (!content) return false;
  std::istringstream words(*content);
  int found = 0;
  for (std::string word; words >> word;) found += word == "memory" || word == "pids" || word == "cpu";
  return found == 3;
}

Status write_v1_limits(const std::string& controller, const std::string& group, const Limits& limits) {
  if (controller == "memory") {
    std::string bytes = std::to_string(limits.memory_bytes);
    if (auto s = write_file(group + "/memory.limit_in_bytes", bytes); !s) return s;
    // Without this the sandbox could swap past its limit on hosts with swap accounting.
    if (exists(group + "/memory.memsw.limit_in_bytes"))
      return write_file(group + "/memory.memsw.limit_in_bytes", bytes);
    return {};
  }
  if (controller == "pids") return write_file(group + "/pids.max", std::to_string(limits.pids));
  if (controller == "cpu") {
    auto quota = static_cast<std::uint64_t>(std::llround(limits.cpus * kCpuPeriodUs));
    if (auto s = write_file(group + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)); !s) return s;
    return write_file(group + "/cpu.cfs_quota_us", std::to_string(std::max<std::uint64_t>(quota, 1000)));
  }
  return {};
}

Status write_v2_limits(const std::string& group, const Limits& limits) {
  if (auto s = write_file(group + "/memory.max", std::to_string(limits.memory_bytes)); !s) return s;
  if (exists(group + "/memory.swap.max")) {
    if (auto s = write_file(group + "/memory.swap.max", "0"); !s) return s;
  }
  if (auto s = write_file(group + "/pids.max", std::to_string(limits.pids)); !s) return s;
  auto quota = static_cast<std::uint64_t>(std::llround(limits.cpus * kCpuPeriodUs));
  return write_file(group + "/cpu.max", std::to_string(std::max<std::uint64_t>(quota, 1000)) + " " +
                                            std::to_string(kCpuPeriodUs));
}

std::vector<pid_t> listed_pids(const std::string& group) {
  std::vector<pid_t> pids;
  std::ifstream in(group + "/cgroup.procs");
  for (pid_t pid = 0; in >> pid;) pids.push_back(pid);
  return pids;
}

std::string find_group_file(const std::vector<std::string>& groups, const std::string& name) {
  for (const auto& group : groups) {
    if (exists(group + "/" + name)) return group + "/" + name;
  }
  return {};
}

Result<std::uint64_t> read_number(const std::string& path) {
  auto content = read_file(path);
  if (!content) return tl::unexpected(content.error());
  try {
    return std::stoull(*content);
  } catch (const std::exception&) {
    return fail(ErrorCode::kInternal, "unexpected content in " + path);
  }
}

// The weight of all sandboxes together against the host's processes, on the parent group.
Status write_parent_cpu_weight(const std::string& parent, bool unified, std::uint32_t weight) {
  weight = std::clamp<std::uint32_t>(weight, 1, 10000);
  if (unified) return write_file(parent + "/cpu.weight", std::to_string(weight));
  // v1 cpu.shares: 1024 is one ordinary process, as weight 100 is in v2.
  return write_file(parent + "/cpu.shares",
                    std::to_string(std::max<std::uint64_t>(2, weight * 1024ULL / 100)));
}

}  // namespace

Result<CgroupLayout> detect_cgroup_layout(const std::string& cgroup_root, const std::string& parent_name,
                                          std::uint32_t cpu_weight) {
  CgroupLayout layout;
  for (const auto& v2 : {cgroup_root, cgroup_root + "/unified"}) {
    if (has_controllers(v2 + "/cgroup.controllers")) {
      layout.unified = true;
      std::string parent = v2 + "/" + parent_name;
      if (auto s = make_dir(parent); !s) return tl::unexpected(s.error());
      // Controllers must be enabled at every level above the sandbox groups.
      if (auto s = write_file(v2 + "/cgroup.subtree_control", "+memory +pids +cpu"); !s)
        return tl::unexpected(s.error());
      if (auto s = write_file(parent + "/cgroup.subtree_control", "+memory +pids +cpu"); !s) {
        return tl::unexpected(s.error());
      }
      if (auto s = write_parent_cpu_weight(parent, true, cpu_weight); !s) return tl::unexpected(s.error());
      layout.parents.push_back(parent);
      return layout;
    }
  }
  for (const char* controller : kV1Controllers) {
    std::string hierarchy = cgroup_root + "/" + controller;
    if (!exists(hierarchy + "/cgroup.procs")) {
      return fail(ErrorCode::kUnavailable,
                  "cgroup controller '" + std::string(controller) + "' is not mounted at " + hierarchy +
                      " and cgroup2 lacks memory/pids/cpu: mount the v1 hierarchy or "
                      "enable the controllers in cgroup2");
    }
    std::string parent = hierarchy + "/" + parent_name;
    if (auto s = make_dir(parent); !s) return tl::unexpected(s.error());
    if (std::string_view(controller) == "cpu") {
      if (auto s = write_parent_cpu_weight(parent, false, cpu_weight); !s) return tl::unexpected(s.error());
    }
    layout.parents.push_back(parent);
    layout.controllers.emplace_back(controller);
  }
  if (const std::string freezer = cgroup_root + "/" + kV1Freezer; exists(freezer + "/cgroup.procs")) {
    std::string parent = freezer + "/" + parent_name;
    if (auto s = make_dir(parent); !s) return tl::unexpected(s.error());
    layout.parents.push_back(parent);
    layout.controllers.emplace_back(kV1Freezer);
  }
  return layout;
}

Result<std::vector<std::string>> create_cgroups(const CgroupLayout& layout, const std::string& id,
                                                const Limits& limits) {
  std::vector<std::string> groups;
  for (std::size_t i = 0; i < layout.parents.size(); ++i) {
    std::string group = layout.parents[i] + "/" + id;
    if (::mkdir(group.c_str(), 0755) != 0) {
      auto error = system_error("creating cgroup " + group, errno);
      (void)remove_cgroups(groups);
      return tl::unexpected(error);
    }
    groups.push_back(group);
    Status limited = layout.unified ? write_v2_limits(group, limits)
                                    : write_v1_limits(layout.controllers[i], group, limits);
    if (!limited) {
      (void)remove_cgroups(groups);
      return tl::unexpected(limited.error());
    }
  }
  return groups;
}

Status attach_to_cgroups(const std::vector<std::string>& groups, pid_t pid) {
  for (const auto& group : groups) {
    if (auto s = write_file(group + "/cgroup.procs", std::to_string(pid)); !s) return s;
  }
  return {};
}

Status kill_cgroup_processes(const std::vector<std::string>& groups, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    bool empty = true;
    for (const auto& group : groups) {
      if (exists(group + "/cgroup.kill")) (void)write_file(group + "/cgroup.kill", "1");
      for (pid_t pid : listed_pids(group)) {
        empty = false;
        ::kill(pid, SIGKILL);
      }
    }
    if (empty) return {};
    if (std::chrono::steady_clock::now() > deadline) {
      return fail(ErrorCode::kInternal, "sandbox processes survived SIGKILL for " +
                                            std::to_string(timeout.count()) + " ms (in " + groups.front() +
                                            "); they may be stuck in uninterruptible sleep: check dmesg");
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

Status remove_cgroups(const std::vector<std::string>& groups) {
  for (const auto& group : groups) {
    if (::rmdir(group.c_str()) != 0 && errno != ENOENT) {
      return tl::unexpected(system_error("removing cgroup " + group + " (is a process still in it?)", errno));
    }
  }
  return {};
}

Status freeze_cgroups(const std::vector<std::string>& groups, bool frozen) {
  std::string v1 = find_group_file(groups, "freezer.state");
  std::string v2 = v1.empty() ? find_group_file(groups, "cgroup.freeze") : std::string();
  if (v1.empty() && v2.empty()) {
    return fail(ErrorCode::kUnavailable,
                "the sandbox has no freezer cgroup: mount the v1 freezer hierarchy (or use cgroup2) to pause "
                "sandboxes with their memory");
  }
  if (auto s = v1.empty() ? write_file(v2, frozen ? "1" : "0") : write_file(v1, frozen ? "FROZEN" : "THAWED");
      !s)
    return s;
  if (!frozen) return {};
  // Freezing is asynchronous: the kernel reports when the last task has stopped. Neither v1 nor this hybrid
  // layout offers a notification, so look again with a short back-off (it takes well under a millisecond for
  // an idle sandbox).
  const std::string events =
      v1.empty() ? v2.substr(0, v2.size() - std::string_view("freeze").size()) + "events" : std::string();
  auto done = [&]() {
    auto content = read_file(v1.empty() ? events : v1);
    if (!content) return false;
    return v1.empty() ? content->find("frozen 1") != std::string::npos : content->starts_with("FROZEN");
  };
  const auto deadline = std::chrono::steady_clock::now() + kFreezeTimeout;
  for (auto pause = std::chrono::microseconds(50); !done();
       pause = std::min(pause * 2, std::chrono::microseconds(5000))) {
    if (std::chrono::steady_clock::now() > deadline) {
      (void)(v1.empty() ? write_file(v2, "0") : write_file(v1, "THAWED"));
      return fail(ErrorCode::kInternal,
                  "the sandbox's processes did not all stop within " +
                      std::to_string(kFreezeTimeout.count()) +
                      " s (a task in uninterruptible sleep? check dmesg); it keeps running");
    }
    std::this_thread::sleep_for(pause);
  }
  return {};
}

Result<std::uint64_t> cgroup_memory_bytes(const std::vector<std::string>& groups) {
  std::string path = find_group_file(groups, "memory.usage_in_bytes");
  if (path.empty()) path = find_group_file(groups, "memory.current");
  if (path.empty()) return fail(ErrorCode::kSandboxUnavailable, "sandbox memory cgroup is gone");
  return read_number(path);
}

Result<std::uint64_t> cgroup_cpu_ns(const std::vector<std::string>& groups) {
  std::string path = find_group_file(groups, "cpuacct.usage");
  if (!path.empty()) return read_number(path);
  path = find_group_file(groups, "cpu.stat");
  if (path.empty()) return fail(ErrorCode::kSandboxUnavailable, "sandbox cpu cgroup is gone");
  std::ifstream in(path);
  std::string key;
  for (std::uint64_t value = 0; in >> key >> value;) {
    if (key == "usage_usec") return value * 1000;
  }
  return fail(ErrorCode::kInternal, "no usage_usec in " + path);
}

StepResult enter_cgroup_namespace() {
  if (::unshare(CLONE_NEWCGROUP) != 0) return step_failed(ContainStep::kCgroupNamespace, errno);
  return step_ok();
}

}  // namespace cellblock::runtime::ns
