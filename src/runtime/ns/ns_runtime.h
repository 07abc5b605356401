#pragma once
// NsRuntime: sandboxes as Linux namespaces + cgroups + seccomp, nsjail-style. One file per concern:
//   user_ns (id maps)  mounts (quota tmpfs, overlay, binds, /proc, /dev, pivot_root)  net (lo, hostname)
//   veth (the optional network link to the host)  cgroups (limits, kill, usage)  seccomp_filter (policy
//   file -> BPF)  rlimits  process_start (clone3, handshake, exec)  layer_copy (saved writable layers);
//   contain.cpp holds the child's step order. This file is the parent's orchestration.
// Requires real root (the server runs as root); create() says so otherwise.

#include <memory>
#include <string>

#include "common/error.h"
#include "runtime/ns/cgroups.h"
#include "runtime/ns/seccomp_filter.h"
#include "runtime/runtime.h"

namespace cellblock::runtime::ns {

// The policy in the source tree; installations point NsRuntimeOptions::seccomp_policy_path at their copy.
inline constexpr const char* kDefaultSeccompPolicyPath = CELLBLOCK_SECCOMP_POLICY_PATH;

struct NsRuntimeOptions {
  std::string seccomp_policy_path = kDefaultSeccompPolicyPath;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_parent = "cellblock";  // sandboxes live in <root>/<controller>/<parent>/<id>
  // The CPU weight of all sandboxes together against the host's other processes (cgroup v2 scale, 1-10000;
  // 100 = one ordinary host process; v1 hosts get the matching cpu.shares).
  std::uint32_t cpu_weight = 100;
};

class NsRuntime final : public Runtime {
 public:
  // Checks for root, compiles the seccomp policy, detects the cgroup layout.
  static Result<std::unique_ptr<NsRuntime>> create(NsRuntimeOptions options = {});

  Result<SandboxHandle> start(const SandboxSpec& spec) override;
  bool alive(const SandboxHandle& handle) const override;
  Status kill(const SandboxHandle& handle) override;
  Status cleanup(const SandboxHandle& handle) override;
  Result<Usage> usage(const SandboxHandle& handle) const override;
  Status freeze(const SandboxHandle& handle) override;
  Status thaw(const SandboxHandle& handle) override;
  // Copies /proc/<pid>/fd/<disk_fd>/upper (layer_copy.h) while PID 1 still holds it.
  Result<std::uint64_t> save_layer(const SandboxHandle& handle, const std::string& dest) override;
  // Applies the layers bottom to top with cp (layer_merge.h).
  Result<std::uint64_t> merge_layers(const std::vector<std::string>& layers,
                                     const std::string& dest) override;
  SandboxHandle handle_for(const std::string& id, const std::string& sandbox_dir) const override;

  bool uses_cgroup2() const { return cgroups_.unified; }

 private:
  NsRuntime(NsRuntimeOptions options, SeccompProgram seccomp, CgroupLayout cgroups)
      : options_(std::move(options)), seccomp_(std::move(seccomp)), cgroups_(std::move(cgroups)) {}

  NsRuntimeOptions options_;
  SeccompProgram seccomp_;
  CgroupLayout cgroups_;
};

}  // namespace cellblock::runtime::ns
