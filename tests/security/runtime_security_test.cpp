// Escape and limit checks from inside real ns-runtime sandboxes (busybox root filesystem + a static probe
// binary bind-mounted at /probe). Needs root; skipped otherwise.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <set>

#include "runtime/ns/ns_runtime.h"
#include "sandbox_test_support.h"

namespace cellblock::runtime {
namespace {

using testing::read_text;
using testing::SandboxLab;
using testing::trim;
using testing::wait_for_file;
using testing::write_text;
namespace fs = std::filesystem;

class SandboxSecurityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() == 0) lab_ = new SandboxLab();
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }
  void SetUp() override {
    if (lab_ == nullptr) GTEST_SKIP() << "the ns runtime needs root";
  }

  // A spec with the probe at /probe.
  static SandboxSpec probe_spec(const std::string& script, fs::path* out) {
    auto spec = lab_->spec(script, out);
    spec.binds.push_back(BindMount{CELLBLOCK_SANDBOX_PROBE, "/probe", true});
    return spec;
  }

  static SandboxHandle start(const SandboxSpec& spec) {
    auto handle = lab_->start(spec);
    if (!handle) ADD_FAILURE() << handle.error().message;
    return handle ? *handle : SandboxHandle{};
  }

  static SandboxLab* lab_;
};
SandboxLab* SandboxSecurityTest::lab_ = nullptr;

std::set<std::string> numeric_entries(const std::string& listing) {
  std::set<std::string> pids;
  std::istringstream lines(listing);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos) pids.insert(line);
  }
  return pids;
}

std::string group_file(const SandboxHandle& handle, const std::string& name) {
  for (const auto& group : handle.cgroups) {
    if (fs::exists(group + "/" + name)) return read_text(group + "/" + name);
  }
  return {};
}

TEST_F(SandboxSecurityTest, HostProcessesAreInvisible) {
  fs::path out;
  start(
      lab_->spec("ls /proc > /out/proc; cat /proc/1/cmdline | tr '\\0' ' ' > /out/cmdline; "
                 "echo done > /out/done; exec sleep 1000",
                 &out));
  ASSERT_TRUE(wait_for_file(out / "done"));
  auto pids = numeric_entries(read_text(out / "proc"));
  // PID 1 (the shell) and the `ls` itself: nothing of the host's hundreds of processes.
  EXPECT_TRUE(pids.count("1")) << read_text(out / "proc");
  EXPECT_LE(pids.size(), 3u) << read_text(out / "proc");
  EXPECT_EQ(read_text(out / "cmdline").rfind("/bin/sh -c", 0), 0u) << read_text(out / "cmdline");
  EXPECT_EQ(pids.count(std::to_string(::getpid())), 0u);
}

TEST_F(SandboxSecurityTest, HostFilesOutsideTheTemplateAreUnreachable) {
  fs::path secret_dir = lab_->base() / "host-secret";
  fs::create_directories(secret_dir);
  fs::permissions(secret_dir, fs::perms::all);  // even world-readable, it must not be reachable
  write_text(secret_dir / "token.txt", "TOPSECRET-4711");
  fs::path out;
  std::string path = (secret_dir / "token.txt").string();
  start(lab_->spec("cat " + path +
                       " > /out/cat 2>&1; find / -name token.txt > /out/find 2>/dev/null; "
                       "ls / > /out/root; test -e /work && echo yes > /out/work; echo done > /out/done",
                   &out));
  ASSERT_TRUE(wait_for_file(out / "done"));
  EXPECT_EQ(read_text(out / "cat").find("TOPSECRET"), std::string::npos);
  EXPECT_NE(read_text(out / "cat").find("No such file"), std::string::npos) << read_text(out / "cat");
  EXPECT_EQ(trim(read_text(out / "find")), "");
  EXPECT_FALSE(fs::exists(out / "work"));
  // The sandbox's root holds the template's directories only.
  EXPECT_NE(read_text(out / "root").find("bin"), std::string::npos);
  EXPECT_EQ(read_text(out / "root").find("host-secret"), std::string::npos);
}

TEST_F(SandboxSecurityTest, HostLoopbackIsUnreachableButOwnLoopbackWorks) {
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(server, 4), 0);
  ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(&address), &length), 0);
  int port = ntohs(address.sin_port);
  fs::path out;
  start(probe_spec("/probe connect 127.0.0.1 " + std::to_string(port) + " > /out/connect; " +
                       "/probe loopback > /out/loopback; echo done > /out/done",
                   &out));
  ASSERT_TRUE(wait_for_file(out / "done"));
  EXPECT_EQ(trim(read_text(out / "connect")), "connect=ECONNREFUSED");
  EXPECT_EQ(trim(read_text(out / "loopback")), "loopback=ok");
  pollfd ready{server, POLLIN, 0};
  EXPECT_EQ(::poll(&ready, 1, 100), 0) << "the host listener saw a connection from the sandbox";
  ::close(server);
}

TEST_F(SandboxSecurityTest, OtherSandboxesAreInvisible) {
  fs::path out_a;
  auto a = start(lab_->spec("echo mine > /marker-a; exec sleep 1000 & echo done > /out/done; wait", &out_a));
  ASSERT_TRUE(wait_for_file(out_a / "done"));
  fs::path out_b;
  start(
      lab_->spec("ls /proc > /out/proc; cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' ' > /out/cmdlines; "
                 "test -e /marker-a && echo yes > /out/marker; ls " +
                     a.sandbox_dir + " > /out/ls-a 2>&1; echo done > /out/done",
                 &out_b));
  ASSERT_TRUE(wait_for_file(out_b / "done"));
  EXPECT_FALSE(fs::exists(out_b / "marker"));
  EXPECT_EQ(read_text(out_b / "cmdlines").find("sleep 1000"), std::string::npos)
      << read_text(out_b / "cmdlines");
  EXPECT_LE(numeric_entries(read_text(out_b / "proc")).size(), 3u);
  EXPECT_NE(read_text(out_b / "ls-a").find("No such file"), std::string::npos) << read_text(out_b / "ls-a");
  // The marker is in A's own writable layer (seen through its root), nowhere on the host's tree.
  EXPECT_EQ(trim(read_text("/proc/" + std::to_string(a.pid) + "/root/marker-a")), "mine");
  EXPECT_FALSE(fs::exists(lab_->rootfs() / "marker-a"));
}

TEST_F(SandboxSecurityTest, WritesToTheTemplateLandInTheUpperLayer) {
  auto passwd = lab_->rootfs() / "etc/passwd";
  auto passwd_before = read_text(passwd);
  fs::path out;
  start(
      lab_->spec("echo planted > /bin/planted && cat /bin/planted > /out/planted; "
                 "echo 'evil::0:0::/:/bin/sh' >> /etc/passwd && echo appended > /out/appended; rm /bin/ls && "
                 "echo removed > /out/rm; "
                 "echo done > /out/done",
                 &out));
  ASSERT_TRUE(wait_for_file(out / "done"));
  EXPECT_EQ(trim(read_text(out / "planted")), "planted");
  EXPECT_EQ(trim(read_text(out / "appended")), "appended");
  EXPECT_EQ(trim(read_text(out / "rm")), "removed");
  EXPECT_FALSE(fs::exists(lab_->rootfs() / "bin/planted"));
  EXPECT_EQ(read_text(passwd), passwd_before);
  EXPECT_TRUE(fs::is_symlink(lab_->rootfs() / "bin/ls"));
}

TEST_F(SandboxSecurityTest, DangerousSyscallsAreDenied) {
  fs::path out;
  start(
      probe_spec("/probe syscalls > /out/syscalls; mount -t tmpfs none /mnt > /out/mount 2>&1; "
                 "echo done > /out/done",
                 &out));
  ASSERT_TRUE(wait_for_file(out / "done"));
  std::string result = read_text(out / "syscalls");
  for (const char* expected : {"mount=EPERM", "unshare_newuser=EPERM", "ptrace=EPERM", "clone_newuser=EPERM",
                               "clone3=ENOSYS", "bpf=EPERM", "keyctl=EPERM", "fork=OK"}) {
    EXPECT_NE(result.find(expected), std::string::npos) << expected << " in\n" << result;
  }
  EXPECT_NE(read_text(out / "mount").find("permission denied"), std::string::npos)
      << read_text(out / "mount");
}

TEST_F(SandboxSecurityTest, MemoryHogIsOomKilledWhileOthersKeepWorking) {
  fs::path out_bystander;
  auto bystander = lab_->spec(
      "while [ ! -e /out/go ]; do sleep 0.05; done; echo still-here > /out/after; "
      "exec sleep 1000",
      &out_bystander);
  auto neighbour = start(bystander);
  fs::path out;
  // The status file appears only once written (renamed into place): its reader never sees it empty.
  auto spec = probe_spec(
      "/probe memhog 512 > /out/hog; echo status=$? > /out/status.tmp; mv /out/status.tmp /out/status; "
      "exec sleep 1000",
      &out);
  spec.limits.memory_bytes = 64ULL << 20;
  auto hog = start(spec);
  ASSERT_TRUE(wait_for_file(out / "status", std::chrono::seconds(30)));
  EXPECT_EQ(trim(read_text(out / "status")), "status=137");  // SIGKILL from the OOM killer
  EXPECT_EQ(read_text(out / "hog").find("survived"), std::string::npos);
  EXPECT_NE(group_file(hog, "memory.oom_control").find("oom_kill 1"), std::string::npos)
      << group_file(hog, "memory.oom_control");
  // The hog's sandbox itself (PID 1) and the neighbour survive.
  EXPECT_TRUE(lab_->runtime().alive(hog));
  write_text(out_bystander / "go", "1");
  ASSERT_TRUE(wait_for_file(out_bystander / "after"));
  EXPECT_TRUE(lab_->runtime().alive(neighbour));
}

TEST_F(SandboxSecurityTest, ForkBombIsContainedByPidsMax) {
  fs::path out;
  auto spec = probe_spec("/probe forkbomb 2 > /out/bomb; echo done > /out/done; exec sleep 1000", &out);
  spec.limits.pids = 32;
  auto bomb = start(spec);
  std::uint64_t peak = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!fs::exists(out / "done") && std::chrono::steady_clock::now() < deadline) {
    std::string current = group_file(bomb, "pids.current");
    if (!current.empty()) peak = std::max<std::uint64_t>(peak, std::stoull(current));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(out / "done"));
  EXPECT_LE(peak, 32u);
  EXPECT_GE(peak, 16u);  // the bomb really ran into the limit
  EXPECT_NE(read_text(out / "bomb").find("errno=EAGAIN"), std::string::npos) << read_text(out / "bomb");
  std::string events = group_file(bomb, "pids.events");
  EXPECT_NE(events.find("max "), std::string::npos);
  EXPECT_EQ(events.find("max 0"), std::string::npos) << events;
  // The host can still start processes, and the runtime can still tear the sandbox down.
  EXPECT_EQ(std::system("/bin/true"), 0);
  auto killed = lab_->runtime().kill(bomb);
  EXPECT_TRUE(killed) << killed.error().message;
  EXPECT_FALSE(lab_->runtime().alive(bomb));
}

TEST_F(SandboxSecurityTest, TheWritableLayerDescriptorLeadsOnlyToTheLayer) {
  // PID 1 keeps the quota tmpfs open for the host; from inside, '..' must not climb out of it to the host's
  // tree (the tmpfs is cut off when the old root is detached).
  fs::path out;
  auto handle = start(lab_->spec(
      "while [ ! -e /out/fd ]; do sleep 0.01; done; fd=$(cat /out/fd); "
      "ls -a /proc/1/fd/$fd/ > /out/top; ls -a /proc/1/fd/$fd/../../.. > /out/climb; "
      "ls -a /proc/1/fd/$fd/upper/../../../../ > /out/climb-upper; echo done > /out/done; exec sleep 1000",
      &out));
  ASSERT_GE(handle.disk_fd, 3);
  write_text(out / "fd", std::to_string(handle.disk_fd));
  ASSERT_TRUE(wait_for_file(out / "done"));
  const std::string layer_root = ".\n..\nupper\nwork\n";
  EXPECT_EQ(read_text(out / "top"), layer_root);
  EXPECT_EQ(read_text(out / "climb"), layer_root);
  EXPECT_EQ(read_text(out / "climb-upper"), layer_root);
}

TEST_F(SandboxSecurityTest, SavingALayerCopiesTheSandboxsSymlinksNotTheirTargets) {
  // The host copies the writable layer as root: links the sandbox planted must stay links.
  fs::path out;
  auto handle = start(lab_->spec(
      "ln -s / /escape; ln -s /etc/hostname /host-file; ln -s ../../../../.. /up; echo done > /out/done; "
      "exec sleep 1000",
      &out));
  ASSERT_TRUE(wait_for_file(out / "done"));
  fs::path layer = lab_->base() / ("layer-" + handle.id);
  auto saved = lab_->runtime().save_layer(handle, layer.string());
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_LT(*saved, 1u << 20);
  for (const char* link : {"escape", "host-file", "up"}) EXPECT_TRUE(fs::is_symlink(layer / link)) << link;
  EXPECT_EQ(fs::read_symlink(layer / "escape"), "/");
  EXPECT_EQ(fs::read_symlink(layer / "host-file"), "/etc/hostname");
}

long long bytes_written(const std::string& fill_result) {
  return std::stoll(fill_result.substr(fill_result.find('=') + 1));
}

TEST_F(SandboxSecurityTest, DiskQuotaStopsWritesWithEnospc) {
  // /tmp is part of the writable layer: one quota for everything the sandbox writes.
  fs::path out;
  auto spec = probe_spec(
      "/probe fill /big > /out/fill; /probe fill /tmp/more > /out/fill-tmp-full; rm /big /tmp/more; "
      "/probe fill /tmp/big > /out/fill-tmp; echo done > /out/done; exec sleep 1000",
      &out);
  spec.limits.disk_bytes = 16ULL << 20;
  start(spec);
  ASSERT_TRUE(wait_for_file(out / "done", std::chrono::seconds(30)));
  for (const char* name : {"fill", "fill-tmp"}) {
    std::string result = read_text(out / name);
    EXPECT_NE(result.find("errno=ENOSPC"), std::string::npos) << result;
    EXPECT_GT(bytes_written(result), 12LL << 20) << result;
    EXPECT_LE(bytes_written(result), 16LL << 20) << result;
  }
  std::string full = read_text(out / "fill-tmp-full");
  EXPECT_NE(full.find("errno=ENOSPC"), std::string::npos) << full;
  EXPECT_LT(bytes_written(full), 1LL << 20) << full;
}

}  // namespace
}  // namespace cellblock::runtime
