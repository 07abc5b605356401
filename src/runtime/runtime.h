#pragma once
// The isolation runtime interface. The sandbox module owns the lifecycle and is the only caller; a runtime
// owns the host-side resources of each sandbox (its process tree, cgroups and sandbox_dir) from start() until
// cleanup(). Implementations: ns/ (Linux namespaces + cgroups + seccomp).

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"

namespace cellblock::runtime {

struct Limits {
  std::uint64_t memory_bytes = 1ULL << 30;  // RAM (+swap where the host accounts it); tmpfs pages count too
  std::uint32_t pids = 512;                 // processes + threads
  double cpus = 2.0;                        // CPU quota in cores
  std::uint64_t disk_bytes = 2ULL << 30;    // size of the writable layer (/tmp included)
};

struct BindMount {
  std::string host_path;     // file or directory on the host
  std::string sandbox_path;  // absolute path inside the sandbox; created if missing
  bool read_only = true;
};

// A point-to-point IPv4 link from a sandbox to the host: a veth pair whose host end sits in the server's
// network namespace and whose sandbox end is eth0 inside, with the sandbox's default route through the host
// end. What the sandbox may reach through it is the host firewall's business, not the runtime's.
struct NetworkLink {
  std::string host_interface;         // the host end's name, 1-15 of [a-z0-9-]; unique among live sandboxes
  std::uint32_t host_address = 0;     // IPv4, host byte order: the host end's address, the sandbox's gateway
  std::uint32_t sandbox_address = 0;  // eth0's address; the two addresses make up one /31
  std::uint32_t mtu = 1500;           // both ends, 68-65535
  // Written to /etc/resolv.conf inside, a "nameserver" line each; none: the template's file stays.
  std::vector<std::uint32_t> nameservers;
};

// What the server needs to find a sandbox's link again (firewall rules, cleanup after a restart).
struct NetworkLinkHandle {
  std::string host_interface;
  std::uint32_t host_address = 0;
  std::uint32_t sandbox_address = 0;
};

struct SandboxSpec {
  std::string id;                 // [a-z0-9]{1,64}; names the cgroups
  std::string rootfs;             // template root filesystem directory (read-only lower layer)
  std::string sandbox_dir;        // per-sandbox host directory owned by the runtime (must not exist yet)
  std::vector<std::string> argv;  // PID 1 inside, e.g. {"/opt/cellblock/bin/cellblock-agent", ...}
  std::vector<std::string> env;   // "K=V" for PID 1 (includes CELLBLOCK_ACCESS_TOKEN); nothing else is passed
  std::vector<BindMount> binds;   // the agent binary, kernel module dir, ...
  Limits limits;
  std::string hostname = "sandbox";
  // PID 1's stdout/stderr: a host descriptor the caller keeps owning (e.g. a pipe it drains); -1 = /dev/null.
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Host descriptors (> 2) that PID 1 inherits under the same numbers, e.g. the write end of the pipe on
  // which the agent says it is ready. The caller keeps owning its copies.
  std::vector<int> inherited_fds;
  // Saved writable layers (save_layer) stacked above the rootfs, the uppermost first: the sandbox starts on
  // the files they hold. Read-only and shared by every sandbox started on them; the caller keeps them.
  std::vector<std::string> layers;
  // No link: the sandbox's network namespace has only its own loopback.
  std::optional<NetworkLink> network;
};

// Everything needed to find a sandbox again; serialisable (handle_json.h) so the server can re-attach after a
// restart.
struct SandboxHandle {
  std::string id;
  pid_t pid = 0;                     // host pid of PID 1
  std::uint64_t pid_start_time = 0;  // /proc/<pid>/stat field 22: tells a recycled pid apart
  std::string sandbox_dir;
  std::string socket_path;           // host path of /run/cellblock/agent.sock inside
  std::vector<std::string> cgroups;  // cgroup directories holding the sandbox's processes
  int disk_fd = -1;                  // PID 1's descriptor of the writable layer's file system; -1: none
  std::optional<NetworkLinkHandle> network;  // set when the spec asked for a link
};

struct Usage {
  std::uint64_t cpu_ns = 0;        // CPU time consumed by all processes of the sandbox
  std::uint64_t memory_bytes = 0;  // current cgroup memory charge (includes tmpfs pages)
  std::uint64_t disk_bytes = 0;    // bytes used in the writable layer
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  // Returns once PID 1 is exec'd, or the error of the containment step that failed.
  virtual Result<SandboxHandle> start(const SandboxSpec& spec) = 0;
  // True while PID 1 runs: pid and start time still match and it is not a zombie.
  virtual bool alive(const SandboxHandle& handle) const = 0;
  // Kills every process of the sandbox and waits until its cgroups are empty. Idempotent.
  virtual Status kill(const SandboxHandle& handle) = 0;
  // Kills what is left, removes the cgroups, the network link and sandbox_dir. Idempotent.
  virtual Status cleanup(const SandboxHandle& handle) = 0;
  virtual Result<Usage> usage(const SandboxHandle& handle) const = 0;
  // Stops every process of the sandbox where it stands (no CPU, memory kept) and returns once all are
  // stopped; thaw() lets them run on. Both idempotent.
  virtual Status freeze(const SandboxHandle& handle) = 0;
  virtual Status thaw(const SandboxHandle& handle) = 0;
  // Copies the files the sandbox changed (its writable layer, in overlayfs' upper-layer form: whiteouts and
  // opaque directories included) to `dest`, which must not exist, and returns the bytes they take. The copy
  // is usable as one of SandboxSpec::layers. Freeze the sandbox first for a consistent copy.
  virtual Result<std::uint64_t> save_layer(const SandboxHandle& handle, const std::string& dest) = 0;
  // Writes one layer to `dest` (which must not exist) that shows, over any rootfs, exactly the files the
  // saved `layers` (uppermost first) show stacked, and returns the bytes it takes. The layers are only read.
  virtual Result<std::uint64_t> merge_layers(const std::vector<std::string>& layers,
                                             const std::string& dest) = 0;
  // The handle a sandbox started with `id` in `sandbox_dir` would have, without its process: enough for
  // cleanup() when the recorded handle is lost (an unreadable record).
  virtual SandboxHandle handle_for(const std::string& id, const std::string& sandbox_dir) const = 0;
};

}  // namespace cellblock::runtime
