#pragma once
// Test support for ns runtime tests: a busybox root filesystem built in a temp dir, a per-test base
// directory, sandbox specs running a shell script as PID 1, and a bind-mounted /out directory to read results
// from.

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/encoding.h"
#include "runtime/id_shift.h"
#include "runtime/ns/ns_runtime.h"

namespace cellblock::runtime::testing {

namespace fs = std::filesystem;

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

inline std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

inline bool wait_for_file(const fs::path& path,
                          std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

inline std::string random_sandbox_id() {
  return "t" + random_hex(9);
}

// A root filesystem with busybox and its applet symlinks, owned by the sandbox's shifted root.
inline fs::path build_busybox_rootfs(const fs::path& root) {
  for (const char* dir : {"bin", "sbin", "etc", "proc", "dev", "tmp", "run", "root", "usr/bin"}) {
    fs::create_directories(root / dir);
  }
  fs::copy_file("/usr/bin/busybox", root / "bin/busybox");
  FILE* list = ::popen("/usr/bin/busybox --list", "r");
  char name[128];
  while (list != nullptr && std::fscanf(list, "%127s", name) == 1) {
    if (std::string(name) != "busybox") fs::create_symlink("busybox", root / "bin" / name);
  }
  if (list != nullptr) ::pclose(list);
  write_text(root / "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
  write_text(root / "etc/group", "root:x:0:\n");
  auto shifted = shift_ownership(root.string(), kSandboxIdBase);
  if (!shifted) throw std::runtime_error(shifted.error().message);
  return root;
}

// One temp tree per test binary: <base>/rootfs, <base>/sandboxes/<id>, <base>/out-<id>.
class SandboxLab {
 public:
  SandboxLab() {
    char pattern[] = "/tmp/cellblock-rt-XXXXXX";
    base_ = ::mkdtemp(pattern);
    fs::permissions(base_, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
    rootfs_ = build_busybox_rootfs(base_ / "rootfs");
    fs::create_directories(base_ / "sandboxes");
    auto runtime = ns::NsRuntime::create();
    if (!runtime) throw std::runtime_error(runtime.error().message);
    runtime_ = std::move(*runtime);
  }
  ~SandboxLab() {
    for (const auto& handle : started_) (void)runtime_->cleanup(handle);
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  ns::NsRuntime& runtime() { return *runtime_; }
  const fs::path& base() const { return base_; }
  const fs::path& rootfs() const { return rootfs_; }

  // A spec running `script` with /bin/sh as PID 1 and a writable /out bound to the returned spec's out dir.
  SandboxSpec spec(const std::string& script, fs::path* out_dir = nullptr) {
    SandboxSpec spec;
    spec.id = random_sandbox_id();
    spec.rootfs = rootfs_.string();
    spec.sandbox_dir = (base_ / "sandboxes" / spec.id).string();
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = {"PATH=/bin", "HOME=/root"};
    spec.limits.memory_bytes = 256ULL << 20;
    spec.limits.disk_bytes = 64ULL << 20;
    spec.limits.pids = 64;
    spec.limits.cpus = 1.0;
    fs::path out = base_ / ("out-" + spec.id);
    fs::create_directories(out);
    if (::chown(out.c_str(), kSandboxIdBase, kSandboxIdBase) != 0) throw std::runtime_error("chown out");
    spec.binds.push_back(BindMount{out.string(), "/out", false});
    if (out_dir != nullptr) *out_dir = out;
    return spec;
  }

  Result<SandboxHandle> start(const SandboxSpec& spec) {
    auto handle = runtime_->start(spec);
    if (handle) started_.push_back(*handle);
    return handle;
  }

 private:
  fs::path base_;
  fs::path rootfs_;
  std::unique_ptr<ns::NsRuntime> runtime_;
  std::vector<SandboxHandle> started_;
};

}  // namespace cellblock::runtime::testing
