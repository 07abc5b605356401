#include "runtime/ns/ns_runtime.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/unique_fd.h"
#include "runtime/id_shift.h"
#include "runtime/ns/contain.h"
#include "runtime/ns/layer_copy.h"
#include "runtime/ns/layer_merge.h"
#include "runtime/ns/rlimits.h"
#include "runtime/ns/user_ns.h"
#include "runtime/ns/veth.h"

namespace cellblock::runtime::ns {

namespace {

// The cgroup namespace is entered by the child after the parent moved it into its groups (cgroups.h).
constexpr std::uint64_t kNamespaces =
    CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS;
constexpr auto kKillTimeout = std::chrono::seconds(10);

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

bool absolute_and_below_root(const std::string& path) {
  return path.size() > 1 && path[0] == '/' && path.find("/../") == std::string::npos &&
         path.find_first_not_of('/') != std::string::npos;
}

Status validate(const SandboxSpec& spec) {
  if (!valid_id(spec.id)) return fail(ErrorCode::kInvalidArgument, "sandbox id must be 1-64 of [a-z0-9]");
  if (!absolute_and_below_root(spec.sandbox_dir) || !absolute_and_below_root(spec.rootfs)) {
    return fail(ErrorCode::kInvalidArgument, "rootfs and sandbox_dir must be absolute paths");
  }
  if (spec.argv.empty() || spec.argv[0].empty() || spec.argv[0][0] != '/') {
    return fail(ErrorCode::kInvalidArgument, "argv[0] must be an absolute path inside the sandbox");
  }
  if (spec.hostname.empty() || spec.hostname.size() > 64) {
    return fail(ErrorCode::kInvalidArgument, "hostname must be 1-64 characters");
  }
  if ((spec.stdout_fd >= 0 && spec.stdout_fd <= 2) || (spec.stderr_fd >= 0 && spec.stderr_fd <= 2)) {
    return fail(ErrorCode::kInvalidArgument, "stdout_fd/stderr_fd must be -1 or a descriptor > 2");
  }
  for (int fd : spec.inherited_fds) {
    if (fd <= 2) return fail(ErrorCode::kInvalidArgument, "inherited descriptors must be > 2");
  }
  if (spec.network) {
    if (auto s = validate_link(*spec.network); !s) return s;
  }
  if (spec.limits.memory_bytes < (8ULL << 20) || spec.limits.pids < 2 || spec.limits.cpus <= 0) {
    return fail(ErrorCode::kInvalidArgument, "limits: memory >= 8 MiB, pids >= 2 and cpus > 0 required");
  }
  struct stat st {};
  if (::stat(spec.rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kNotFound,
                "template rootfs " + spec.rootfs + " is not a directory: build the template");
  }
  for (const auto& layer : spec.layers) {
    if (!absolute_and_below_root(layer)) {
      return fail(ErrorCode::kInvalidArgument, "layer " + layer + " must be an absolute path");
    }
    if (::stat(layer.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return fail(ErrorCode::kNotFound, "layer " + layer + " is not a directory: it must be a saved layer");
    }
  }
  if (::lstat(spec.sandbox_dir.c_str(), &st) == 0) {
    return fail(ErrorCode::kAlreadyExists, "sandbox_dir " + spec.sandbox_dir + " already exists");
  }
  return {};
}

// The sandbox's root is uid 100000 on the host, not root: it can only pass directories that let "others"
// search them (or that it owns). Checked here so the operator gets the directory's name instead of a bare
// EACCES.
Status check_searchable(const std::filesystem::path& path, const std::string& what) {
  for (auto dir = path; !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    bool owned = st.st_uid >= kSandboxIdBase && st.st_uid - kSandboxIdBase < kSandboxIdCount;
    if (!owned && (st.st_mode & S_IXOTH) == 0) {
      return fail(ErrorCode::kPermissionDenied, what + ": directory " + dir.string() +
                                                    " is not searchable by the sandbox's mapped root (uid " +
                                                    std::to_string(kSandboxIdBase) + "): chmod o+x " +
                                                    dir.string());
    }
  }
  return {};
}

Status check_reachable(const SandboxSpec& spec) {
  if (auto s = check_searchable(spec.rootfs, "template rootfs"); !s) return s;
  for (const auto& layer : spec.layers) {
    if (auto s = check_searchable(layer, "layer " + layer); !s) return s;
  }
  if (auto s = check_searchable(std::filesystem::path(spec.sandbox_dir).parent_path(), "sandbox_dir"); !s)
    return s;
  for (const auto& bind : spec.binds) {
    if (auto s =
            check_searchable(std::filesystem::path(bind.host_path).parent_path(), "bind " + bind.host_path);
        !s) {
      return s;
    }
  }
  return {};
}

void remove_tree(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// Reaps PID 1 when it is our child (a server restart makes init its parent instead) and waits until it is
// gone.
void reap(pid_t pid, std::uint64_t start_time, std::chrono::steady_clock::time_point deadline) {
  while (same_process(pid, start_time) && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

// Mounts in the host's namespace under sandbox_dir would mean a containment bug; never delete through them.
bool host_mounts_below(const std::string& dir) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line;
  std::string prefix = dir + "/";
  while (std::getline(mountinfo, line)) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    if (mount_point == dir || mount_point.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// A new layer's directory: absolute, usable in overlay options, not there yet.
Status check_layer_destination(const std::string& dest) {
  if (!absolute_and_below_root(dest) || !overlay_safe(dest)) {
    return fail(ErrorCode::kInvalidArgument,
                "layer destination '" + dest + "' must be an absolute path without ',', ':' or '\\'");
  }
  struct stat st {};
  if (::lstat(dest.c_str(), &st) == 0) {
    return fail(ErrorCode::kAlreadyExists, "layer destination " + dest + " already exists");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<NsRuntime>> NsRuntime::create(NsRuntimeOptions options) {
  if (::geteuid() != 0) {
    return fail(ErrorCode::kPermissionDenied,
                "the ns runtime needs root (it writes uid maps and cgroups): run the server as root");
  }
  auto seccomp = compile_seccomp_policy(options.seccomp_policy_path);
  if (!seccomp) return tl::unexpected(seccomp.error());
  auto cgroups = detect_cgroup_layout(options.cgroup_root, options.cgroup_parent, options.cpu_weight);
  if (!cgroups) return tl::unexpected(cgroups.error());
  return std::unique_ptr<NsRuntime>(
      new NsRuntime(std::move(options), std::move(*seccomp), std::move(*cgroups)));
}

Result<SandboxHandle> NsRuntime::start(const SandboxSpec& spec) {
  if (auto s = validate(spec); !s) return tl::unexpected(s.error());
  if (auto s = check_reachable(spec); !s) return tl::unexpected(s.error());

  ContainPlan plan;
  auto mounts = prepare_mounts(spec);  // creates sandbox_dir (and removes it again on failure)
  if (!mounts) return tl::unexpected(mounts.error());
  plan.mounts = std::move(*mounts);
  plan.exec = prepare_exec(spec.argv, spec.env, spec.stdout_fd, spec.stderr_fd);
  plan.exec.inherited_fds = spec.inherited_fds;
  plan.hostname = spec.hostname;
  if (spec.network) plan.link = plan_link(*spec.network);
  plan.seccomp = &seccomp_;

  auto groups = create_cgroups(cgroups_, spec.id, spec.limits);
  if (!groups) {
    remove_tree(spec.sandbox_dir);
    return tl::unexpected(groups.error());
  }
  auto pipes = open_handshake_pipes();
  if (!pipes) {
    (void)remove_cgroups(*groups);
    remove_tree(spec.sandbox_dir);
    return tl::unexpected(pipes.error());
  }
  plan.exec.release_fd = pipes->release_read;
  plan.exec.report_fd = pipes->report_write;
  plan.exec.disk_fd = choose_disk_fd(spec.inherited_fds, pipes->report_write);
  plan.exec.parent_ends[0] = pipes->release_write;
  plan.exec.parent_ends[1] = pipes->report_read;

  auto pid = clone_into_namespaces(kNamespaces);
  if (pid && *pid == 0) run_contained(plan);  // the child never returns

  ::close(pipes->release_read);
  ::close(pipes->report_write);
  pipes->release_read = pipes->report_write = -1;
  bool link_created = false;
  auto abandon = [&](Error error) -> Result<SandboxHandle> {
    if (pid) {
      ::kill(*pid, SIGKILL);
      ::waitpid(*pid, nullptr, 0);
    }
    // The kernel would delete the pair with the child's network namespace, but not before the name is needed
    // again.
    if (link_created) (void)delete_veth(spec.network->host_interface);
    pipes->close_all();
    (void)kill_cgroup_processes(*groups, std::chrono::seconds(2));
    (void)remove_cgroups(*groups);
    remove_tree(spec.sandbox_dir);
    return tl::unexpected(std::move(error));
  };
  if (!pid) return abandon(pid.error());

  // Parent-side set-up, in order; the child waits on the release pipe meanwhile.
  if (auto s = write_id_maps(*pid); !s) return abandon(s.error());
  if (auto s = apply_rlimits(*pid); !s) return abandon(s.error());
  if (auto s = attach_to_cgroups(*groups, *pid); !s) return abandon(s.error());
  if (spec.network) {
    if (auto s = create_veth(*spec.network, *pid); !s) return abandon(s.error());
    link_created = true;
  }
  if (auto s = release_child(pipes->release_write); !s) return abandon(s.error());
  auto report = wait_for_exec(pipes->report_read);
  if (!report) return abandon(report.error());
  if (report->has_value()) return abandon(describe_failure(**report));
  pipes->close_all();

  auto start_time = process_start_time(*pid);
  if (!start_time) return abandon(Error{ErrorCode::kInternal, "sandbox PID 1 exited right after execve"});
  SandboxHandle handle;
  handle.id = spec.id;
  handle.pid = *pid;
  handle.pid_start_time = *start_time;
  handle.sandbox_dir = spec.sandbox_dir;
  handle.socket_path = spec.sandbox_dir + "/run/agent.sock";
  handle.cgroups = std::move(*groups);
  handle.disk_fd = plan.exec.disk_fd;
  if (spec.network) {
    handle.network = NetworkLinkHandle{spec.network->host_interface, spec.network->host_address,
                                       spec.network->sandbox_address};
  }
  return handle;
}

bool NsRuntime::alive(const SandboxHandle& handle) const {
  return handle.pid > 0 && process_running(handle.pid, handle.pid_start_time);
}

Status NsRuntime::kill(const SandboxHandle& handle) {
  auto deadline = std::chrono::steady_clock::now() + kKillTimeout;
  // SIGKILL to PID 1 tears down the whole pid namespace; the identity check keeps a recycled pid safe.
  if (handle.pid > 0 && same_process(handle.pid, handle.pid_start_time)) ::kill(handle.pid, SIGKILL);
  // Frozen tasks (a paused sandbox) cannot die until they are thawed; a group without a freezer says so.
  (void)freeze_cgroups(handle.cgroups, false);
  // Anything that reached the sandbox's cgroups by other means goes too.
  if (auto s = kill_cgroup_processes(handle.cgroups, kKillTimeout); !s) return s;
  if (handle.pid > 0) reap(handle.pid, handle.pid_start_time, deadline);
  if (alive(handle)) {
    return fail(ErrorCode::kInternal, "sandbox " + handle.id + " PID 1 survived SIGKILL; check dmesg");
  }
  return {};
}

Status NsRuntime::cleanup(const SandboxHandle& handle) {
  if (!absolute_and_below_root(handle.sandbox_dir)) {
    return fail(ErrorCode::kInvalidArgument, "refusing to remove sandbox_dir '" + handle.sandbox_dir + "'");
  }
  if (auto s = kill(handle); !s) return s;
  // The pair dies with the sandbox's network namespace, but asynchronously: deleted here, its name is free
  // once cleanup returns.
  if (handle.network) {
    if (auto s = delete_veth(handle.network->host_interface); !s) return s;
  }
  if (auto s = remove_cgroups(handle.cgroups); !s) return s;
  if (host_mounts_below(handle.sandbox_dir)) {
    return fail(ErrorCode::kInternal, "a host mount exists below " + handle.sandbox_dir +
                                          "; not removing it: unmount it by hand (this is a runtime bug)");
  }
  std::error_code ec;
  std::filesystem::remove_all(handle.sandbox_dir, ec);
  if (ec) return tl::unexpected(system_error("removing " + handle.sandbox_dir, ec.value()));
  return {};
}

Result<std::uint64_t> NsRuntime::save_layer(const SandboxHandle& handle, const std::string& dest) {
  if (auto usable = check_layer_destination(dest); !usable) return tl::unexpected(usable.error());
  if (handle.disk_fd < 0) {
    return fail(ErrorCode::kConflict, "sandbox " + handle.id +
                                          " was started without a writable-layer descriptor (by an older "
                                          "server): its layer cannot be saved until it is started again");
  }
  if (!alive(handle)) {
    return fail(ErrorCode::kSandboxUnavailable,
                "sandbox " + handle.id + " is not running: its writable layer is gone");
  }
  std::string disk_path = "/proc/" + std::to_string(handle.pid) + "/fd/" + std::to_string(handle.disk_fd);
  UniqueFd disk(::open(disk_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  int saved = errno;
  // Checked after the open: a descriptor opened while the pid still named this sandbox is the sandbox's.
  if (!alive(handle)) {
    return fail(ErrorCode::kSandboxUnavailable,
                "sandbox " + handle.id + " stopped while its writable layer was being saved");
  }
  if (!disk.valid()) return tl::unexpected(system_error("opening " + disk_path, saved));
  struct statfs fs {};
  if (::fstatfs(disk.get(), &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
    return fail(ErrorCode::kInternal, disk_path + " of sandbox " + handle.id +
                                          " is not its quota tmpfs: the handle's disk_fd is wrong");
  }
  UniqueFd upper(::openat(disk.get(), "upper", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!upper.valid()) return tl::unexpected(system_error("opening " + disk_path + "/upper", errno));
  return copy_layer(upper.get(), dest);
}

Result<std::uint64_t> NsRuntime::merge_layers(const std::vector<std::string>& layers,
                                              const std::string& dest) {
  if (auto usable = check_layer_destination(dest); !usable) return tl::unexpected(usable.error());
  if (layers.empty())
    return fail(ErrorCode::kInvalidArgument, "merging layers into " + dest + ": no layers given");
  for (const auto& layer : layers) {
    if (!absolute_and_below_root(layer)) {
      return fail(ErrorCode::kInvalidArgument, "layer '" + layer + "' must be an absolute path");
    }
  }
  return ns::merge_layers(layers, dest);
}

Status NsRuntime::freeze(const SandboxHandle& handle) {
  return freeze_cgroups(handle.cgroups, true);
}

Status NsRuntime::thaw(const SandboxHandle& handle) {
  return freeze_cgroups(handle.cgroups, false);
}

SandboxHandle NsRuntime::handle_for(const std::string& id, const std::string& sandbox_dir) const {
  SandboxHandle handle;
  handle.id = id;
  handle.sandbox_dir = sandbox_dir;
  handle.socket_path = sandbox_dir + "/run/agent.sock";
  if (valid_id(id)) {
    for (const auto& parent : cgroups_.parents) handle.cgroups.push_back(parent + "/" + id);
  }
  return handle;
}

Result<Usage> NsRuntime::usage(const SandboxHandle& handle) const {
  Usage usage;
  auto memory = cgroup_memory_bytes(handle.cgroups);
  if (!memory) return tl::unexpected(memory.error());
  usage.memory_bytes = *memory;
  auto cpu = cgroup_cpu_ns(handle.cgroups);
  if (!cpu) return tl::unexpected(cpu.error());
  usage.cpu_ns = *cpu;
  // overlayfs reports its upper layer's statfs, i.e. the quota tmpfs.
  struct statfs fs {};
  std::string root = "/proc/" + std::to_string(handle.pid) + "/root/";
  if (alive(handle) && ::statfs(root.c_str(), &fs) == 0) {
    usage.disk_bytes =
        static_cast<std::uint64_t>(fs.f_blocks - fs.f_bfree) * static_cast<std::uint64_t>(fs.f_bsize);
  }
  return usage;
}

}  // namespace cellblock::runtime::ns
