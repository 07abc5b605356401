#include "runtime/ns/mounts.h"

#include <fcntl.h>
#include <linux/limits.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "runtime/id_shift.h"

namespace cellblock::runtime::ns {

namespace {

constexpr std::uint64_t kShmMaxBytes = 64ULL << 20;
// mount(2) copies at most one page of options.
constexpr std::size_t kMountOptionsMax = 4096;

// Flags a bind remount must keep: in a user namespace the kernel locks them and refuses a remount that drops
// them.
unsigned long locked_flags(const std::string& host_path) {
  struct statvfs vfs {};
  if (::statvfs(host_path.c_str(), &vfs) != 0) return 0;
  unsigned long flags = 0;
  if (vfs.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (vfs.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (vfs.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (vfs.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  if (vfs.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  return flags;
}

Result<PlannedBind> plan_bind(const BindMount& bind) {
  if (bind.host_path.empty() || bind.host_path[0] != '/' || bind.sandbox_path.size() < 2 ||
      bind.sandbox_path[0] != '/') {
    return fail(ErrorCode::kInvalidArgument, "bind mount " + bind.host_path + " -> " + bind.sandbox_path +
                                                 ": both paths must be absolute");
  }
  struct stat st {};
  if (::stat(bind.host_path.c_str(), &st) != 0) {
    return tl::unexpected(system_error("bind mount source " + bind.host_path, errno));
  }
  PlannedBind planned;
  planned.source = bind.host_path;
  planned.target = bind.sandbox_path.substr(bind.sandbox_path.find_first_not_of('/'));
  planned.directory = S_ISDIR(st.st_mode);
  planned.remount_flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | locked_flags(bind.host_path);
  if (bind.read_only) planned.remount_flags |= MS_RDONLY;
  return planned;
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0) return tl::unexpected(system_error("creating " + path, errno));
  if (::chmod(path.c_str(), mode) != 0) return tl::unexpected(system_error("chmod " + path, errno));
  return {};
}

Status make_host_dirs(const MountPlan& plan, const std::string& run_dir) {
  for (const auto& dir : {plan.disk_dir, plan.root_dir, run_dir}) {
    if (auto s = make_dir(dir, 0700); !s) return s;
  }
  if (::chown(run_dir.c_str(), kSandboxIdBase, kSandboxIdBase) != 0) {
    return tl::unexpected(system_error("chown " + run_dir, errno));
  }
  return {};
}

// "/proc/self/fd/<fd>" into a caller buffer, without allocating.
void fd_path(char (&buffer)[32], int fd) {
  const char prefix[] = "/proc/self/fd/";
  std::size_t n = 0;
  for (; prefix[n] != '\0'; ++n) buffer[n] = prefix[n];
  char digits[12];
  int count = 0;
  do {
    digits[count++] = static_cast<char>('0' + fd % 10);
    fd /= 10;
  } while (fd > 0);
  while (count > 0) buffer[n++] = digits[--count];
  buffer[n] = '\0';
}

int open_in_root(int root_fd, const char* relative, int flags) {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, relative, &how, sizeof how));
}

// Returns an O_PATH descriptor of `relative` inside the root, creating missing directories (and the final
// file when !directory) on the way. Every lookup stays inside the root.
int open_or_create_in_root(int root_fd, const char* relative, bool directory) {
  int fd = open_in_root(root_fd, relative, O_PATH);
  if (fd >= 0 || errno != ENOENT) return fd;
  char path[PATH_MAX];
  std::size_t length = 0;
  for (; relative[length] != '\0'; ++length) {
    if (length + 1 >= sizeof path) {
      errno = ENAMETOOLONG;
      return -1;
    }
    path[length] = relative[length];
  }
  path[length] = '\0';
  std::size_t start = 0;
  while (start < length) {
    std::size_t end = start;
    while (end < length && path[end] != '/') ++end;
    bool last = end >= length;
    path[end] = '\0';
    int parent = start == 0 ? ::dup(root_fd) : -1;
    if (start > 0) {
      path[start - 1] = '\0';
      parent = open_in_root(root_fd, path, O_PATH | O_DIRECTORY);
      path[start - 1] = '/';
    }
    if (parent < 0) return -1;
    const char* name = path + start;
    int rc = 0;
    if (last && !directory) {
      int created = ::openat(parent, name, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      rc = created;
      if (created >= 0) ::close(created);
    } else if (*name != '\0') {
      rc = ::mkdirat(parent, name, 0755);
      if (rc != 0 && errno == EEXIST) rc = 0;
    }
    int saved = errno;
    ::close(parent);
    if (rc < 0) {
      errno = saved;
      return -1;
    }
    if (!last) path[end] = '/';
    start = end + 1;
  }
  return open_in_root(root_fd, relative, O_PATH);
}

// mount(2) onto a descriptor obtained inside the root.
int mount_onto(const char* source, int target_fd, const char* type, unsigned long flags, const char* data) {
  char target[32];
  fd_path(target, target_fd);
  return ::mount(source, target, type, flags, data);
}

StepResult mount_fresh(ContainStep step, int root_fd, const char* target, const char* type,
                       unsigned long flags, const char* data) {
  int fd = open_or_create_in_root(root_fd, target, true);
  if (fd < 0) return step_failed(step, errno, target);
  int rc = mount_onto(type, fd, type, flags, data);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return step_failed(step, saved, target);
  return step_ok();
}

StepResult bind_one(int root_fd, const PlannedBind& bind) {
  int fd = open_or_create_in_root(root_fd, bind.target.c_str(), bind.directory);
  if (fd < 0) return step_failed(ContainStep::kBindMount, errno, bind.target.c_str());
  int rc = mount_onto(bind.source.c_str(), fd, nullptr, MS_BIND | MS_REC, nullptr);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return step_failed(ContainStep::kBindMount, saved, bind.source.c_str());
  // Reopen: the old descriptor names the covered mount point, the remount must hit the new bind mount.
  fd = open_in_root(root_fd, bind.target.c_str(), O_PATH);
  if (fd < 0) return step_failed(ContainStep::kBindMount, errno, bind.target.c_str());
  rc = mount_onto(nullptr, fd, nullptr, bind.remount_flags, nullptr);
  saved = errno;
  ::close(fd);
  if (rc != 0) return step_failed(ContainStep::kBindMount, saved, bind.target.c_str());
  return step_ok();
}

}  // namespace

bool overlay_safe(const std::string& path) {
  // overlayfs option parsing treats ',' and ':' as separators and '\' as an escape.
  return path.find_first_of(",:\\") == std::string::npos;
}

Result<MountPlan> prepare_mounts(const SandboxSpec& spec) {
  if (!overlay_safe(spec.rootfs) || !overlay_safe(spec.sandbox_dir)) {
    return fail(ErrorCode::kInvalidArgument, "rootfs and sandbox_dir must not contain ',', ':' or '\\'");
  }
  for (const auto& layer : spec.layers) {
    if (!overlay_safe(layer)) {
      return fail(ErrorCode::kInvalidArgument, "layer " + layer + " must not contain ',', ':' or '\\'");
    }
  }
  if (spec.limits.disk_bytes < (1ULL << 20)) {
    return fail(ErrorCode::kInvalidArgument, "limits.disk_bytes must be at least 1 MiB");
  }
  MountPlan plan;
  std::string run_dir = spec.sandbox_dir + "/run";
  plan.disk_dir = spec.sandbox_dir + "/disk";
  plan.upper_dir = plan.disk_dir + "/upper";
  plan.work_dir = plan.disk_dir + "/work";
  plan.root_dir = spec.sandbox_dir + "/root";
  plan.disk_options = "size=" + std::to_string(spec.limits.disk_bytes) + ",mode=0755";
  // Saved layers keep overlayfs' upper-layer form (whiteouts, opaque directories in user.overlay.*), which
  // the kernel honours in lower layers too: the uppermost layer first, the template last.
  std::string lower_dirs;
  for (const auto& layer : spec.layers) lower_dirs += layer + ":";
  lower_dirs += spec.rootfs;
  plan.overlay_options =
      "lowerdir=" + lower_dirs + ",upperdir=" + plan.upper_dir + ",workdir=" + plan.work_dir + ",userxattr";
  if (plan.overlay_options.size() >= kMountOptionsMax) {
    return fail(ErrorCode::kInvalidArgument,
                "the overlay's options (" + std::to_string(plan.overlay_options.size()) +
                    " bytes) exceed the kernel's limit of " + std::to_string(kMountOptionsMax) +
                    ": use fewer layers or shorter paths");
  }
  plan.shm_options = "size=" + std::to_string(std::min(spec.limits.disk_bytes, kShmMaxBytes)) + ",mode=1777";
  for (const auto& bind : spec.binds) {
    auto planned = plan_bind(bind);
    if (!planned) return tl::unexpected(planned.error());
    plan.binds.push_back(std::move(*planned));
  }

  // sandbox_dir is searchable by the sandbox's root (it must reach disk/ and root/ to mount on them); run/ is
  // owned by it so the agent can bind its socket there, and by nobody else on the host.
  if (auto s = make_dir(spec.sandbox_dir, 0711); !s) return tl::unexpected(s.error());
  if (auto s = make_host_dirs(plan, run_dir); !s) {
    std::error_code ec;
    std::filesystem::remove_all(spec.sandbox_dir, ec);
    return tl::unexpected(s.error());
  }
  PlannedBind run{run_dir, "run/cellblock", true, 0};
  run.remount_flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | locked_flags(run_dir);
  plan.binds.push_back(std::move(run));
  return plan;
}

StepResult make_mounts_private() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return step_failed(ContainStep::kPrivateMounts, errno, "/");
  }
  return step_ok();
}

StepResult mount_disk_quota(const MountPlan& plan) {
  if (::mount("tmpfs", plan.disk_dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, plan.disk_options.c_str()) !=
      0) {
    return step_failed(ContainStep::kDiskQuota, errno, plan.disk_dir.c_str());
  }
  if (::mkdir(plan.upper_dir.c_str(), 0755) != 0) {
    return step_failed(ContainStep::kDiskQuota, errno, plan.upper_dir.c_str());
  }
  if (::mkdir(plan.work_dir.c_str(), 0700) != 0) {
    return step_failed(ContainStep::kDiskQuota, errno, plan.work_dir.c_str());
  }
  return step_ok();
}

StepResult open_disk(const MountPlan& plan, int& disk_fd) {
  // After pivot_root the host cannot reach the upper layer by path any more; through PID 1's descriptor
  // (/proc/<pid>/fd/<n>) it can, e.g. to save the layer. Inside the sandbox it leads nowhere else: this tmpfs
  // was mounted in the sandbox's namespace, so pivot_into's detach of the old root cuts it off from the
  // host's tree ('..' stays at its root).
  disk_fd = ::open(plan.disk_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (disk_fd < 0) return step_failed(ContainStep::kDiskQuota, errno, plan.disk_dir.c_str());
  if (disk_fd <= 2) {
    // The server runs without a standard stream: keep clear of the numbers prepare_stdio fills.
    int moved = ::fcntl(disk_fd, F_DUPFD_CLOEXEC, 3);
    int saved = errno;
    ::close(disk_fd);
    disk_fd = moved;
    if (moved < 0) return step_failed(ContainStep::kDiskQuota, saved, plan.disk_dir.c_str());
  }
  return step_ok();
}

StepResult mount_overlay(const MountPlan& plan) {
  if (::mount("overlay", plan.root_dir.c_str(), "overlay", 0, plan.overlay_options.c_str()) != 0) {
    return step_failed(ContainStep::kOverlay, errno, plan.overlay_options.c_str());
  }
  return step_ok();
}

StepResult open_new_root(const MountPlan& plan, int& root_fd) {
  root_fd = ::open(plan.root_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return step_failed(ContainStep::kOpenRoot, errno, plan.root_dir.c_str());
  return step_ok();
}

StepResult mount_binds(const MountPlan& plan, int root_fd) {
  for (const auto& bind : plan.binds) {
    if (auto r = bind_one(root_fd, bind); !r) return r;
  }
  return step_ok();
}

StepResult mount_proc(int root_fd) {
  return mount_fresh(ContainStep::kProc, root_fd, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
}

StepResult mount_dev(const MountPlan& plan, int root_fd) {
  if (auto r = mount_fresh(ContainStep::kDev, root_fd, "dev", "tmpfs", MS_NOSUID | MS_NOEXEC,
                           "mode=0755,size=65536");
      !r) {
    return r;
  }
  static constexpr const char* kNodes[][2] = {{"/dev/null", "dev/null"},       {"/dev/zero", "dev/zero"},
                                              {"/dev/full", "dev/full"},       {"/dev/random", "dev/random"},
                                              {"/dev/urandom", "dev/urandom"}, {"/dev/tty", "dev/tty"}};
  for (const auto& node : kNodes) {
    int fd = open_or_create_in_root(root_fd, node[1], false);
    if (fd < 0) return step_failed(ContainStep::kDev, errno, node[1]);
    int rc = mount_onto(node[0], fd, nullptr, MS_BIND, nullptr);
    int saved = errno;
    ::close(fd);
    if (rc != 0) return step_failed(ContainStep::kDev, saved, node[0]);
  }
  // A private devpts instance, so PTYs work and the host's terminals stay invisible.
  if (auto r = mount_fresh(ContainStep::kDev, root_fd, "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                           "newinstance,ptmxmode=0666,mode=0620,gid=5");
      !r) {
    return r;
  }
  if (auto r = mount_fresh(ContainStep::kDev, root_fd, "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
                           plan.shm_options.c_str());
      !r) {
    return r;
  }
  int dev = open_in_root(root_fd, "dev", O_PATH | O_DIRECTORY);
  if (dev < 0) return step_failed(ContainStep::kDev, errno, "dev");
  static constexpr const char* kLinks[][2] = {{"pts/ptmx", "ptmx"},
                                              {"/proc/self/fd", "fd"},
                                              {"/proc/self/fd/0", "stdin"},
                                              {"/proc/self/fd/1", "stdout"},
                                              {"/proc/self/fd/2", "stderr"}};
  for (const auto& link : kLinks) {
    if (::symlinkat(link[0], dev, link[1]) != 0) {
      int saved = errno;
      ::close(dev);
      return step_failed(ContainStep::kDev, saved, link[1]);
    }
  }
  ::close(dev);
  return step_ok();
}

StepResult prepare_tmp(int root_fd) {
  // Templates ship /tmp as 1777; one without it, or with another mode (a saved layer of a sandbox that
  // chmod'ed it), still gets the sticky world-writable /tmp that programs expect. A correct /tmp is left
  // untouched, so it is not copied up into the writable layer.
  int fd = open_or_create_in_root(root_fd, "tmp", true);
  if (fd < 0) return step_failed(ContainStep::kTmp, errno, "tmp");
  struct stat st {};
  int rc = ::fstat(fd, &st);
  int saved = errno;
  if (rc == 0 && !S_ISDIR(st.st_mode)) {
    rc = -1;
    saved = ENOTDIR;
  }
  if (rc == 0 && (st.st_mode & 07777) != 01777) {
    char path[32];
    fd_path(path, fd);
    rc = ::chmod(path, 01777);
    saved = errno;
  }
  ::close(fd);
  if (rc != 0) return step_failed(ContainStep::kTmp, saved, "tmp");
  return step_ok();
}

StepResult pivot_into(int root_fd) {
  if (::fchdir(root_fd) != 0) return step_failed(ContainStep::kPivotRoot, errno, "fchdir");
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching it leaves only the new root.
  if (::syscall(SYS_pivot_root, ".", ".") != 0)
    return step_failed(ContainStep::kPivotRoot, errno, "pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return step_failed(ContainStep::kPivotRoot, errno, "umount old root");
  if (::chdir("/") != 0) return step_failed(ContainStep::kPivotRoot, errno, "chdir /");
  ::close(root_fd);
  return step_ok();
}

}  // namespace cellblock::runtime::ns
