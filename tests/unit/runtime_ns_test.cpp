// NsRuntime against real namespaces, cgroups and a busybox root filesystem. Needs root (skipped otherwise).
#include "runtime/ns/ns_runtime.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "../security/sandbox_test_support.h"
#include "common/encoding.h"
#include "common/unique_fd.h"
#include "runtime/handle_json.h"
#include "runtime/ns/process_start.h"

namespace cellblock::runtime {
namespace {

using testing::read_text;
using testing::SandboxLab;
using testing::trim;
using testing::wait_for_file;
using testing::write_text;
namespace fs = std::filesystem;

class NsRuntimeTest : public ::testing::Test {
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
  static SandboxLab* lab_;
};
SandboxLab* NsRuntimeTest::lab_ = nullptr;

std::string status_field(pid_t pid, const std::string& key) {
  std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key + ":", 0) == 0) return line.substr(key.size() + 1);
  }
  return {};
}

bool host_mount_mentions(const std::string& path) {
  return read_text("/proc/self/mountinfo").find(path) != std::string::npos;
}

// Layer entries as overlayfs writes them into an upper layer, owned by the sandbox's root.
void layer_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  write_text(path, text);
  ASSERT_EQ(::chown(path.c_str(), kSandboxIdBase, kSandboxIdBase), 0) << path;
}
void layer_whiteout(const fs::path& path) {
  fs::create_directories(path.parent_path());
  ASSERT_EQ(::mknod(path.c_str(), S_IFCHR | 0600, ::makedev(0, 0)), 0) << path;
}
void write_text_in(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  write_text(path, text);
}
void layer_opaque_dir(const fs::path& path) {
  fs::create_directories(path);
  ASSERT_EQ(::setxattr(path.c_str(), "user.overlay.opaque", "y", 1, 0), 0) << path;
}

TEST_F(NsRuntimeTest, RunsPid1AsRootOfItsOwnNamespaces) {
  fs::path out;
  auto spec = lab_->spec(
      "echo $$ > /out/pid; hostname > /out/hostname; id -u > /out/uid; "
      "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' > /out/ifaces; ip link show lo > /out/lo; "
      "echo hello > /run/cellblock/marker; "
      // The client retries until the listener is up, then the data is waited for. The listener's stdin stays
      // open: a background job's is /dev/null, whose end of file would make it quit before the data arrives.
      "sleep 30 | nc -l -p 7777 > /out/nc & i=0; "
      "until echo over-lo | nc 127.0.0.1 7777 2>/dev/null || [ $i -ge 200 ]; do i=$((i+1)); sleep 0.05; "
      "done; "
      "i=0; until [ -s /out/nc ] || [ $i -ge 200 ]; do i=$((i+1)); sleep 0.05; done; "
      "echo done > /out/done; exec sleep 1000",
      &out);
  spec.hostname = "sbx-unit";
  auto handle = lab_->start(spec);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  EXPECT_EQ(trim(read_text(out / "pid")), "1");
  EXPECT_EQ(trim(read_text(out / "hostname")), "sbx-unit");
  EXPECT_EQ(trim(read_text(out / "uid")), "0");
  EXPECT_EQ(trim(read_text(out / "ifaces")), "lo");
  EXPECT_NE(read_text(out / "lo").find(",UP"), std::string::npos) << read_text(out / "lo");
  EXPECT_EQ(trim(read_text(out / "nc")), "over-lo");
  EXPECT_EQ(trim(read_text(fs::path(spec.sandbox_dir) / "run/marker")), "hello");
  EXPECT_EQ(handle->socket_path, spec.sandbox_dir + "/run/agent.sock");
  // Root inside is uid 100000 outside.
  std::istringstream uids(status_field(handle->pid, "Uid"));
  std::string real;
  uids >> real;
  EXPECT_EQ(real, std::to_string(kSandboxIdBase));
  EXPECT_TRUE(lab_->runtime().alive(*handle));
  EXPECT_FALSE(handle->network);
  // The sandbox's mounts live only in its own mount namespace.
  EXPECT_FALSE(host_mount_mentions(spec.sandbox_dir));
  EXPECT_FALSE(host_mount_mentions(handle->id));
}

TEST_F(NsRuntimeTest, KillAndCleanupLeaveNothingBehind) {
  fs::path out;
  auto handle = lab_->start(lab_->spec("sleep 1000 & sleep 1000 & echo done > /out/done; wait", &out));
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  ASSERT_FALSE(handle->cgroups.empty());
  for (const auto& group : handle->cgroups) {
    EXPECT_GE(read_text(group + "/cgroup.procs").size(), 2u) << group;
  }
  auto killed = lab_->runtime().kill(*handle);
  ASSERT_TRUE(killed) << killed.error().message;
  EXPECT_FALSE(lab_->runtime().alive(*handle));
  for (const auto& group : handle->cgroups) EXPECT_EQ(read_text(group + "/cgroup.procs"), "") << group;
  auto cleaned = lab_->runtime().cleanup(*handle);
  ASSERT_TRUE(cleaned) << cleaned.error().message;
  for (const auto& group : handle->cgroups) EXPECT_FALSE(fs::exists(group)) << group;
  EXPECT_FALSE(fs::exists(handle->sandbox_dir));
  EXPECT_FALSE(host_mount_mentions(handle->sandbox_dir));
  // Idempotent.
  EXPECT_TRUE(lab_->runtime().cleanup(*handle));
}

TEST_F(NsRuntimeTest, ReattachesThroughHandleJson) {
  fs::path out;
  auto handle = lab_->start(lab_->spec("echo done > /out/done; exec sleep 1000", &out));
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  auto parsed = handle_from_json(to_json(*handle));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pid, handle->pid);
  EXPECT_EQ(parsed->pid_start_time, handle->pid_start_time);
  EXPECT_EQ(parsed->cgroups, handle->cgroups);
  EXPECT_EQ(parsed->disk_fd, handle->disk_fd);
  EXPECT_TRUE(lab_->runtime().alive(*parsed));
  // A handle whose start time does not match (a recycled pid) is not this sandbox and must not be killed.
  SandboxHandle stale = *parsed;
  stale.pid_start_time += 1;
  stale.cgroups.clear();
  EXPECT_FALSE(lab_->runtime().alive(stale));
  ASSERT_TRUE(lab_->runtime().kill(stale));
  EXPECT_TRUE(lab_->runtime().alive(*parsed));
  ASSERT_TRUE(lab_->runtime().cleanup(*parsed));
  EXPECT_FALSE(lab_->runtime().alive(*handle));
}

TEST_F(NsRuntimeTest, ReportsUsage) {
  fs::path out;
  auto handle = lab_->start(lab_->spec(
      "dd if=/dev/zero of=/data bs=1M count=8 2>/dev/null; echo done > /out/done; exec sleep 1000", &out));
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  auto usage = lab_->runtime().usage(*handle);
  ASSERT_TRUE(usage) << usage.error().message;
  EXPECT_GE(usage->disk_bytes, 8ULL << 20);
  EXPECT_LT(usage->disk_bytes, 16ULL << 20);
  EXPECT_GE(usage->memory_bytes, 8ULL << 20);  // tmpfs pages are charged to the sandbox
  EXPECT_GT(usage->cpu_ns, 0u);
}

TEST_F(NsRuntimeTest, TmpIsAStickyDirectoryOfTheWritableLayer) {
  // A template whose /tmp lost its mode still gives the sandbox a sticky world-writable /tmp.
  fs::permissions(lab_->rootfs() / "tmp", fs::perms(0755));
  fs::path out;
  auto handle =
      lab_->start(lab_->spec("stat -c %a /tmp > /out/mode; cat /proc/self/mountinfo > /out/mountinfo; "
                             "echo kept > /tmp/file; echo done > /out/done; exec sleep 1000",
                             &out));
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  EXPECT_EQ(trim(read_text(out / "mode")), "1777");
  // No mount of its own: /tmp is a directory of the overlay root, on the one disk quota.
  std::istringstream mounts(read_text(out / "mountinfo"));
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    EXPECT_NE(mount_point, "/tmp") << line;
  }
  // The mode was fixed in the writable layer, not in the template.
  EXPECT_EQ(fs::status(lab_->rootfs() / "tmp").permissions(), fs::perms(0755));
}

TEST_F(NsRuntimeTest, LayersStackAboveTheRootfsUppermostFirst) {
  fs::path lower = lab_->base() / ("layer-lower-" + testing::random_sandbox_id());
  fs::path upper = lab_->base() / ("layer-upper-" + testing::random_sandbox_id());
  layer_file(lower / "both", "lower\n");
  layer_file(lower / "lower-only", "lower\n");
  layer_file(lower / "gone", "lower\n");
  layer_file(lower / "dir/old", "lower\n");
  layer_file(upper / "both", "upper\n");
  layer_whiteout(upper / "gone");
  layer_opaque_dir(upper / "dir");
  layer_file(upper / "dir/new", "upper\n");
  layer_whiteout(upper / "etc/group");  // hides a file of the rootfs itself
  fs::path out;
  auto spec = lab_->spec(
      "cat /both > /out/both; cat /lower-only > /out/lower-only; ls /dir > /out/dir; "
      "ls -a / > /out/root; ls /etc > /out/etc; echo done > /out/done; exec sleep 1000",
      &out);
  spec.layers = {upper.string(), lower.string()};
  auto handle = lab_->start(spec);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  EXPECT_EQ(read_text(out / "both"), "upper\n");
  EXPECT_EQ(read_text(out / "lower-only"), "lower\n");
  EXPECT_EQ(read_text(out / "dir"), "new\n");
  EXPECT_EQ(read_text(out / "root").find("gone"), std::string::npos) << read_text(out / "root");
  EXPECT_EQ(read_text(out / "etc"), "passwd\n");
}

TEST_F(NsRuntimeTest, BadLayersAreClearErrors) {
  fs::path layer = lab_->base() / "layer-with:colon";
  fs::create_directories(layer);
  struct Case {
    std::string layer;
    ErrorCode code;
  };
  for (const auto& bad : {Case{"relative/layer", ErrorCode::kInvalidArgument},
                          Case{(lab_->base() / "no-such-layer").string(), ErrorCode::kNotFound},
                          Case{layer.string(), ErrorCode::kInvalidArgument}}) {
    auto spec = lab_->spec("true");
    spec.layers = {bad.layer};
    auto handle = lab_->start(spec);
    ASSERT_FALSE(handle) << bad.layer;
    EXPECT_EQ(handle.error().code, bad.code) << handle.error().message;
    EXPECT_NE(handle.error().message.find(bad.layer), std::string::npos) << handle.error().message;
    EXPECT_FALSE(fs::exists(spec.sandbox_dir));
  }
}

TEST(NsRuntimeDiskFd, IsTheLowestNumberNeitherInheritedNorTheReportPipe) {
  EXPECT_EQ(ns::choose_disk_fd({}, 9), 3);
  EXPECT_EQ(ns::choose_disk_fd({3}, 4), 5);
  EXPECT_EQ(ns::choose_disk_fd({4, 3, 7}, 5), 6);
}

TEST_F(NsRuntimeTest, Pid1KeepsTheWritableLayerReachableFromTheHost) {
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  fs::path out;
  auto spec = lab_->spec("echo inside > /tmp/written; echo ok >&" + std::to_string(ready[1]) +
                             "; echo done > /out/done; exec sleep 1000",
                         &out);
  spec.inherited_fds = {ready[1]};
  auto handle = lab_->start(spec);
  ::close(ready[1]);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  char answer[3] = {};
  EXPECT_EQ(::read(ready[0], answer, sizeof answer), 3);  // the inherited descriptor kept its number
  ::close(ready[0]);
  EXPECT_GE(handle->disk_fd, 3);
  EXPECT_NE(handle->disk_fd, ready[1]);
  fs::path upper =
      "/proc/" + std::to_string(handle->pid) + "/fd/" + std::to_string(handle->disk_fd) + "/upper";
  EXPECT_EQ(read_text(upper / "tmp/written"), "inside\n");
  EXPECT_FALSE(fs::exists(lab_->rootfs() / "tmp/written"));
  // PID 1 holds it open without close-on-exec: the shell got it across execve.
  std::string fdinfo =
      read_text("/proc/" + std::to_string(handle->pid) + "/fdinfo/" + std::to_string(handle->disk_fd));
  ASSERT_NE(fdinfo.find("flags:"), std::string::npos) << fdinfo;
  unsigned long flags = std::stoul(fdinfo.substr(fdinfo.find("flags:") + 6), nullptr, 8);
  EXPECT_EQ(flags & (O_PATH | O_DIRECTORY | O_CLOEXEC), unsigned(O_PATH | O_DIRECTORY)) << fdinfo;
}

// Starts `script`, waits until it wrote /out/done, then freezes the sandbox, saves its writable layer to
// `dest` and kills it.
void run_and_save_layer(SandboxLab& lab, SandboxSpec spec, const fs::path& out, const fs::path& dest) {
  auto handle = lab.start(spec);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  ASSERT_TRUE(lab.runtime().freeze(*handle));
  auto saved = lab.runtime().save_layer(*handle, dest.string());
  ASSERT_TRUE(saved) << saved.error().message;
  EXPECT_GT(*saved, 0u);
  EXPECT_FALSE(fs::exists(dest.string() + ".partial"));
  ASSERT_TRUE(lab.runtime().kill(*handle));
}

TEST_F(NsRuntimeTest, SavedLayerCarriesWritesDeletionsAndReplacedDirectories) {
  // Template content for the sandbox to delete and replace.
  fs::path tree = lab_->rootfs() / "layer-test";
  fs::create_directories(tree / "replaced");
  write_text(tree / "replaced/old", "old\n");
  write_text(tree / "deleted", "old\n");
  ASSERT_TRUE(shift_ownership(tree.string(), kSandboxIdBase));

  fs::path out;
  auto first = lab_->spec(
      "echo hello > /root/new.txt; chmod 640 /root/new.txt; chown 1000:1001 /root/new.txt; "
      "ln /root/new.txt /root/hardlink; ln -s new.txt /root/sym; mkfifo /root/fifo; "
      "truncate -s 64M /root/sparse; echo tmpdata > /tmp/t.txt; "
      "rm /layer-test/deleted; rm -r /layer-test/replaced; mkdir /layer-test/replaced; "
      "echo fresh > /layer-test/replaced/new; echo done > /out/done; exec sleep 1000",
      &out);
  fs::path layer = lab_->base() / ("layer-" + first.id);
  run_and_save_layer(*lab_, first, out, layer);
  if (HasFatalFailure()) return;

  // On the host: overlayfs' upper-layer form, ids as the sandbox's shifted ones, the top like an upper dir.
  struct stat st {};
  ASSERT_EQ(::stat(layer.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, kSandboxIdBase);
  ASSERT_EQ(::lstat((layer / "layer-test/deleted").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(0, 0));  // a whiteout
  char opaque[8] = {};
  EXPECT_EQ(::getxattr((layer / "layer-test/replaced").c_str(), "user.overlay.opaque", opaque, sizeof opaque),
            1);
  EXPECT_EQ(opaque[0], 'y');
  ASSERT_EQ(::stat((layer / "root/new.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kSandboxIdBase + 1000);
  EXPECT_EQ(st.st_gid, kSandboxIdBase + 1001);
  EXPECT_EQ(st.st_nlink, 2u);
  ASSERT_EQ(::stat((layer / "root/sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 64 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20);  // the hole stayed a hole
  EXPECT_EQ(read_text(layer / "tmp/t.txt"), "tmpdata\n");

  // A second sandbox starts on the saved layer.
  auto second = lab_->spec(
      "cat /root/new.txt > /out/new; stat -c '%a %u %g' /root/new.txt > /out/new-stat; "
      "stat -c %i /root/new.txt /root/hardlink | uniq | wc -l > /out/inodes; readlink /root/sym > /out/sym; "
      "[ -p /root/fifo ] && echo fifo > /out/fifo; cat /tmp/t.txt > /out/tmp; stat -c %a /tmp > "
      "/out/tmp-mode; "
      "ls /layer-test > /out/tree; ls /layer-test/replaced > /out/replaced; "
      "echo changed > /root/new.txt; rm /root/sym; echo more > /tmp/t2.txt; rm -r /layer-test; "
      "echo done > /out/done; exec sleep 1000",
      &out);
  second.layers = {layer.string()};
  auto handle = lab_->start(second);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  EXPECT_EQ(read_text(out / "new"), "hello\n");
  EXPECT_EQ(trim(read_text(out / "new-stat")), "640 1000 1001");
  EXPECT_EQ(trim(read_text(out / "inodes")), "1");
  EXPECT_EQ(trim(read_text(out / "sym")), "new.txt");
  EXPECT_EQ(trim(read_text(out / "fifo")), "fifo");
  EXPECT_EQ(read_text(out / "tmp"), "tmpdata\n");
  EXPECT_EQ(trim(read_text(out / "tmp-mode")), "1777");
  EXPECT_EQ(read_text(out / "tree"), "replaced\n");
  EXPECT_EQ(read_text(out / "replaced"), "new\n");
  // Its writes went to its own writable layer; the saved one is shared and stays as it was.
  EXPECT_EQ(read_text(layer / "root/new.txt"), "hello\n");
  EXPECT_TRUE(fs::is_symlink(layer / "root/sym"));
  EXPECT_FALSE(fs::exists(layer / "tmp/t2.txt"));
  EXPECT_TRUE(fs::exists(layer / "layer-test/replaced/new"));
  fs::path upper =
      "/proc/" + std::to_string(handle->pid) + "/fd/" + std::to_string(handle->disk_fd) + "/upper";
  EXPECT_EQ(read_text(upper / "root/new.txt"), "changed\n");
}

TEST_F(NsRuntimeTest, StackedSavedLayersTheUpperOneWins) {
  fs::path out;
  auto a = lab_->spec("echo a > /f; echo a > /only-a; echo done > /out/done; exec sleep 1000", &out);
  fs::path layer_a = lab_->base() / ("layer-" + a.id);
  run_and_save_layer(*lab_, a, out, layer_a);
  if (HasFatalFailure()) return;
  auto b = lab_->spec("echo b > /f; rm /only-a; echo done > /out/done; exec sleep 1000", &out);
  b.layers = {layer_a.string()};
  fs::path layer_b = lab_->base() / ("layer-" + b.id);
  run_and_save_layer(*lab_, b, out, layer_b);
  if (HasFatalFailure()) return;
  EXPECT_TRUE(fs::is_character_file(fs::symlink_status(layer_b / "only-a")));  // B's whiteout of A's file

  for (const auto& [layers, expected] :
       {std::pair{std::vector{layer_b.string(), layer_a.string()}, std::string("b\nabsent\n")},
        std::pair{std::vector{layer_a.string(), layer_b.string()}, std::string("a\npresent\n")}}) {
    auto c = lab_->spec(
        "cat /f > /out/seen; { [ -e /only-a ] && echo present || echo absent; } >> /out/seen; "
        "echo done > /out/done; exec sleep 1000",
        &out);
    c.layers = layers;
    auto handle = lab_->start(c);
    ASSERT_TRUE(handle) << handle.error().message;
    ASSERT_TRUE(wait_for_file(out / "done"));
    EXPECT_EQ(read_text(out / "seen"), expected) << layers.front();
  }
}

// Lists /merge-test as a sandbox started on `layers` sees it: type, mode, owner, mtime and content of every
// entry (directories' link counts and times are overlayfs' own, not the layers').
std::string merge_test_tree(SandboxLab& lab, const std::vector<std::string>& layers) {
  fs::path out;
  auto spec = lab.spec(
      "cd /merge-test && find . | sort | while read p; do "
      "  if [ -d \"$p\" ] && [ ! -L \"$p\" ]; then stat -c '%n|%F|%a|%u:%g' \"$p\"; "
      "  else stat -c '%n|%F|%a|%u:%g|%Y|%s' \"$p\"; fi; "
      "  [ -f \"$p\" ] && [ ! -L \"$p\" ] && cat \"$p\"; "
      "done > /out/tree; "
      "[ \"$(stat -c %i hl_a)\" = \"$(stat -c %i hl_b)\" ] && echo linked >> /out/tree; "
      "readlink sym >> /out/tree; echo done > /out/done; exec sleep 1000",
      &out);
  spec.layers = layers;
  auto handle = lab.start(spec);
  EXPECT_TRUE(handle) << handle.error().message;
  if (!handle) return {};
  EXPECT_TRUE(wait_for_file(out / "done"));
  std::string tree = read_text(out / "tree");
  EXPECT_TRUE(lab.runtime().kill(*handle));
  return tree;
}

void layer_dir(const fs::path& path) {
  fs::create_directories(path);
  ASSERT_EQ(::chown(path.c_str(), kSandboxIdBase, kSandboxIdBase), 0) << path;
}

TEST_F(NsRuntimeTest, MergedLayersShowWhatTheStackShows) {
  fs::path rootfs_tree = lab_->rootfs() / "merge-test";
  write_text_in(rootfs_tree / "rootfile", "rootfs\n");
  write_text_in(rootfs_tree / "recreated", "rootfs\n");
  write_text_in(rootfs_tree / "opaque/rootfs-child", "rootfs\n");
  write_text_in(rootfs_tree / "file-then-dir/rootfs-child", "rootfs\n");
  write_text_in(rootfs_tree / "nested/a/rootfs-kept", "rootfs\n");
  ASSERT_TRUE(shift_ownership(rootfs_tree.string(), kSandboxIdBase));

  const std::string id = testing::random_sandbox_id();
  fs::path bottom = lab_->base() / ("merge-bottom-" + id);
  fs::path middle = lab_->base() / ("merge-middle-" + id);
  fs::path top = lab_->base() / ("merge-top-" + id);
  for (const auto& layer : {bottom, middle, top}) layer_dir(layer / "merge-test");

  layer_whiteout(bottom / "merge-test/rootfile");   // a rootfs file deleted
  layer_whiteout(bottom / "merge-test/recreated");  // deleted, then written again in the top layer
  layer_file(bottom / "merge-test/file-then-dir", "bottom\n");  // hides the rootfs directory
  layer_dir(bottom / "merge-test/dir-then-file");
  layer_file(bottom / "merge-test/dir-then-file/child", "bottom\n");
  layer_dir(bottom / "merge-test/nested/a");
  layer_file(bottom / "merge-test/nested/a/low", "bottom\n");
  layer_file(bottom / "merge-test/link1", "linked\n");
  ASSERT_EQ(::link((bottom / "merge-test/link1").c_str(), (bottom / "merge-test/link2").c_str()), 0);

  layer_opaque_dir(middle / "merge-test/opaque");
  ASSERT_EQ(::chown((middle / "merge-test/opaque").c_str(), kSandboxIdBase, kSandboxIdBase), 0);
  layer_file(middle / "merge-test/opaque/middle", "middle\n");
  layer_file(middle / "merge-test/dir-then-file", "middle\n");
  layer_file(middle / "merge-test/link2", "changed\n");  // a new file: link1 keeps its text
  layer_dir(middle / "merge-test/nested/b");
  layer_file(middle / "merge-test/nested/b/middle", "middle\n");
  layer_file(middle / "merge-test/nested/b/gone", "middle\n");

  layer_file(top / "merge-test/recreated", "top\n");
  layer_dir(top / "merge-test/file-then-dir");  // not opaque, as a hand-made layer may be
  layer_file(top / "merge-test/file-then-dir/new", "top\n");
  layer_dir(top / "merge-test/nested/a");
  layer_file(top / "merge-test/nested/a/low", "top\n");
  ASSERT_EQ(::chmod((top / "merge-test/nested/a/low").c_str(), 0600), 0);
  ASSERT_EQ(::chown((top / "merge-test/nested/a/low").c_str(), kSandboxIdBase + 1000, kSandboxIdBase + 1001),
            0);
  layer_whiteout(top / "merge-test/nested/b/gone");
  layer_file(top / "merge-test/hl_a", "pair\n");
  ASSERT_EQ(::link((top / "merge-test/hl_a").c_str(), (top / "merge-test/hl_b").c_str()), 0);
  fs::create_symlink("recreated", top / "merge-test/sym");
  ASSERT_EQ(::lchown((top / "merge-test/sym").c_str(), kSandboxIdBase, kSandboxIdBase), 0);

  const std::vector<std::string> stack = {top.string(), middle.string(), bottom.string()};
  fs::path merged = lab_->base() / ("merged-" + id);
  auto size = lab_->runtime().merge_layers(stack, merged.string());
  ASSERT_TRUE(size) << size.error().message;
  EXPECT_GT(*size, 0u);
  EXPECT_FALSE(fs::exists(merged.string() + ".partial"));

  const std::string on_stack = merge_test_tree(*lab_, stack);
  const std::string on_merged = merge_test_tree(*lab_, {merged.string()});
  EXPECT_EQ(on_merged, on_stack);
  // The stack itself reads as overlayfs' rules say, so the comparison means something.
  for (const char* expected :
       {"./recreated|regular file|", "top\n", "./opaque/middle|", "./file-then-dir/new|",
        "./dir-then-file|regular file|", "./nested/a/low|regular file|600|1000:1001|",
        "./nested/a/rootfs-kept|", "./nested/b/middle|", "linked\n", "changed\n", "linked\nrecreated\n"}) {
    EXPECT_NE(on_stack.find(expected), std::string::npos) << expected << " in\n" << on_stack;
  }
  for (const char* hidden : {"./rootfile", "rootfs-child", "./dir-then-file/child", "./nested/b/gone"}) {
    EXPECT_EQ(on_stack.find(hidden), std::string::npos) << hidden << " in\n" << on_stack;
  }

  // The layers were only read; the merged one carries the opaque mark the stack's file implied.
  EXPECT_TRUE(fs::is_character_file(fs::symlink_status(bottom / "merge-test/rootfile")));
  EXPECT_TRUE(fs::is_character_file(fs::symlink_status(merged / "merge-test/rootfile")));
  char opaque[8] = {};
  EXPECT_EQ(
      ::getxattr((merged / "merge-test/file-then-dir").c_str(), "user.overlay.opaque", opaque, sizeof opaque),
      1);
  struct stat low {};
  ASSERT_EQ(::lstat((merged / "merge-test/nested/a/low").c_str(), &low), 0);
  EXPECT_EQ(low.st_uid, kSandboxIdBase + 1000);
  EXPECT_EQ(low.st_mode & 07777, 0600u);
  struct stat a {
  }, b{};
  ASSERT_EQ(::lstat((merged / "merge-test/hl_a").c_str(), &a), 0);
  ASSERT_EQ(::lstat((merged / "merge-test/hl_b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(read_text(merged / "merge-test/link1"), "linked\n");

  auto again = lab_->runtime().merge_layers(stack, merged.string());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists) << again.error().message;
  fs::path bad = lab_->base() / ("merged-bad-" + id);
  auto missing =
      lab_->runtime().merge_layers({top.string(), (lab_->base() / "no-such-layer").string()}, bad.string());
  ASSERT_FALSE(missing);
  EXPECT_FALSE(fs::exists(bad));
  EXPECT_FALSE(fs::exists(bad.string() + ".partial"));
}

TEST_F(NsRuntimeTest, SaveLayerRefusesAnExistingDestinationAndAGoneSandbox) {
  fs::path out;
  auto handle = lab_->start(lab_->spec("echo x > /x; echo done > /out/done; exec sleep 1000", &out));
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  fs::path existing = lab_->base() / ("existing-" + handle->id);
  fs::create_directories(existing);
  auto saved = lab_->runtime().save_layer(*handle, existing.string());
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kAlreadyExists) << saved.error().message;
  EXPECT_TRUE(fs::is_empty(existing));

  // cp's own complaint reaches the error, and nothing is left behind.
  fs::path unreachable = lab_->base() / "no-such-dir" / "layer";
  saved = lab_->runtime().save_layer(*handle, unreachable.string());
  ASSERT_FALSE(saved);
  EXPECT_NE(saved.error().message.find("cp failed"), std::string::npos) << saved.error().message;
  EXPECT_NE(saved.error().message.find("No such file or directory"), std::string::npos)
      << saved.error().message;
  EXPECT_FALSE(fs::exists(unreachable.parent_path()));

  SandboxHandle without_fd = *handle;  // recorded by an older server
  without_fd.disk_fd = -1;
  fs::path dest = lab_->base() / ("layer-" + handle->id);
  saved = lab_->runtime().save_layer(without_fd, dest.string());
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kConflict) << saved.error().message;

  ASSERT_TRUE(lab_->runtime().kill(*handle));
  saved = lab_->runtime().save_layer(*handle, dest.string());
  ASSERT_FALSE(saved);
  EXPECT_EQ(saved.error().code, ErrorCode::kSandboxUnavailable) << saved.error().message;
  EXPECT_FALSE(fs::exists(dest));
  EXPECT_FALSE(fs::exists(dest.string() + ".partial"));
}

TEST_F(NsRuntimeTest, MissingRootfsIsAClearError) {
  auto spec = lab_->spec("true");
  spec.rootfs = (lab_->base() / "no-such-template").string();
  auto handle = lab_->start(spec);
  ASSERT_FALSE(handle);
  EXPECT_EQ(handle.error().code, ErrorCode::kNotFound);
  EXPECT_NE(handle.error().message.find(spec.rootfs), std::string::npos) << handle.error().message;
  EXPECT_FALSE(fs::exists(spec.sandbox_dir));
}

TEST_F(NsRuntimeTest, MissingExecutableReportsTheChildStep) {
  auto spec = lab_->spec("true");
  spec.argv = {"/bin/no-such-agent"};
  auto handle = lab_->start(spec);
  ASSERT_FALSE(handle);
  EXPECT_EQ(handle.error().code, ErrorCode::kNotFound) << handle.error().message;
  EXPECT_NE(handle.error().message.find("executing PID 1"), std::string::npos) << handle.error().message;
  EXPECT_NE(handle.error().message.find("/bin/no-such-agent"), std::string::npos) << handle.error().message;
  EXPECT_FALSE(fs::exists(spec.sandbox_dir));
  EXPECT_FALSE(fs::exists("/sys/fs/cgroup/pids/cellblock/" + spec.id));
}

TEST_F(NsRuntimeTest, UnsearchableParentIsNamed) {
  fs::path hidden = lab_->base() / "hidden";
  fs::create_directories(hidden / "tpl");
  fs::permissions(hidden, fs::perms::owner_all);
  auto spec = lab_->spec("true");
  spec.rootfs = (hidden / "tpl").string();
  auto handle = lab_->start(spec);
  ASSERT_FALSE(handle);
  EXPECT_EQ(handle.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(handle.error().message.find("chmod o+x " + hidden.string()), std::string::npos)
      << handle.error().message;
}

// --- The network link (veth.h) ---

constexpr std::uint32_t ipv4(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return a << 24 | b << 16 | c << 8 | d;
}

std::string dotted(std::uint32_t address) {
  in_addr network_order{htonl(address)};
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &network_order, text, sizeof text);
  return text;
}

// A link in 100.88.250.0/24, the /31 starting at 100.88.250.<2 * pair>. The name starts "cbt", not the
// server's "cbv-": a host firewall for sandboxes must not catch the test's own traffic.
NetworkLink test_link(std::uint32_t pair) {
  NetworkLink link;
  link.host_interface = "cbt" + random_hex(4);  // 8 hex digits
  link.host_address = ipv4(100, 88, 250, 2 * pair);
  link.sandbox_address = link.host_address + 1;
  return link;
}

// What `command` prints on the host.
std::string host_output(const std::string& command) {
  std::string text;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  char buffer[4096];
  for (std::size_t n; pipe != nullptr && (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    text.append(buffer, n);
  }
  if (pipe != nullptr) ::pclose(pipe);
  return text;
}

// Whether `ip link` on the host lists `name`.
bool host_has_interface(const std::string& name) {
  std::istringstream links(host_output("ip -o link show"));
  for (std::string line; std::getline(links, line);) {
    // "<index>: <name>[@<peer>]: <flags> ..."
    auto start = line.find(": ");
    if (start == std::string::npos) continue;
    std::string listed = line.substr(start + 2, line.find_first_of("@:", start + 2) - start - 2);
    if (listed == name) return true;
  }
  return false;
}

// A TCP listener on the host at `address` (host byte order), on a port the kernel picks.
UniqueFd listen_on(std::uint32_t address, std::uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_addr.s_addr = htonl(address);
  socklen_t size = sizeof local;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0 ||
      ::listen(fd.get(), 4) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &size) != 0) {
    return UniqueFd();
  }
  port = ntohs(local.sin_port);
  return fd;
}

// Accepts one connection within 15 s and reads one line from it; the peer's address (host byte order) goes
// to `peer`.
std::string accept_line(int listener, std::uint32_t& peer) {
  pollfd ready{listener, POLLIN, 0};
  if (::poll(&ready, 1, 15'000) != 1) return "(no connection)";
  sockaddr_in remote{};
  socklen_t size = sizeof remote;
  UniqueFd connection(::accept4(listener, reinterpret_cast<sockaddr*>(&remote), &size, SOCK_CLOEXEC));
  if (!connection.valid()) return "(accept failed)";
  peer = ntohl(remote.sin_addr.s_addr);
  std::string line;
  char c = 0;
  pollfd readable{connection.get(), POLLIN, 0};
  while (line.find('\n') == std::string::npos && ::poll(&readable, 1, 15'000) == 1 &&
         ::read(connection.get(), &c, 1) == 1) {
    line += c;
  }
  return line;
}

TEST_F(NsRuntimeTest, LinkReachesTheHostAndCarriesTheNameservers) {
  NetworkLink link = test_link(100);
  link.mtu = 1400;
  link.nameservers = {link.host_address, ipv4(192, 0, 2, 53)};
  fs::path out;
  auto spec = lab_->spec(
      "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort > /out/ifaces; "
      "ip -o -4 addr show dev eth0 > /out/addr; ip link show dev eth0 > /out/link; ip route > /out/route; "
      "cat /etc/resolv.conf > /out/resolv; stat -c '%a %u' /etc/resolv.conf > /out/resolv-stat; "
      "echo ready > /out/ready; i=0; "
      "until [ -s /out/port ] || [ $i -ge 300 ]; do i=$((i+1)); sleep 0.05; done; "
      "i=0; until echo hello-host | nc " +
          dotted(link.host_address) +
          " $(cat /out/port) || [ $i -ge 200 ]; do i=$((i+1)); sleep 0.05; done; "
          "echo done > /out/done; exec sleep 1000",
      &out);
  spec.network = link;
  auto handle = lab_->start(spec);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(handle->network);
  EXPECT_EQ(handle->network->host_interface, link.host_interface);
  EXPECT_EQ(handle->network->host_address, link.host_address);
  EXPECT_EQ(handle->network->sandbox_address, link.sandbox_address);
  auto reparsed = handle_from_json(to_json(*handle));
  ASSERT_TRUE(reparsed && reparsed->network);
  EXPECT_EQ(reparsed->network->host_interface, link.host_interface);

  // The host end: listed by `ip link`, addressed, up, with the MTU, and without any IPv6 address.
  EXPECT_TRUE(host_has_interface(link.host_interface));
  std::string host_addr = host_output("ip -o addr show dev " + link.host_interface);
  EXPECT_NE(host_addr.find("inet " + dotted(link.host_address) + "/31"), std::string::npos) << host_addr;
  EXPECT_EQ(host_addr.find("inet6"), std::string::npos) << host_addr;
  EXPECT_NE(host_output("ip link show dev " + link.host_interface).find("mtu 1400"), std::string::npos);

  // The sandbox connects to a listener on the host end's address.
  std::uint16_t port = 0;
  UniqueFd listener = listen_on(link.host_address, port);
  ASSERT_TRUE(listener.valid()) << std::strerror(errno);
  ASSERT_TRUE(wait_for_file(out / "ready"));
  write_text(out / "port.tmp", std::to_string(port) + "\n");
  fs::rename(out / "port.tmp", out / "port");
  std::uint32_t peer = 0;
  EXPECT_EQ(accept_line(listener.get(), peer), "hello-host\n");
  EXPECT_EQ(dotted(peer), dotted(link.sandbox_address));
  ASSERT_TRUE(wait_for_file(out / "done"));

  EXPECT_EQ(read_text(out / "ifaces"), "eth0\nlo\n");
  EXPECT_NE(read_text(out / "addr").find("inet " + dotted(link.sandbox_address) + "/31"), std::string::npos)
      << read_text(out / "addr");
  EXPECT_NE(read_text(out / "link").find("mtu 1400"), std::string::npos) << read_text(out / "link");
  EXPECT_NE(read_text(out / "route").find("default via " + dotted(link.host_address) + " dev eth0"),
            std::string::npos)
      << read_text(out / "route");
  EXPECT_EQ(read_text(out / "resolv"),
            "nameserver " + dotted(link.host_address) + "\nnameserver 192.0.2.53\n");
  EXPECT_EQ(trim(read_text(out / "resolv-stat")), "644 0");

  ASSERT_TRUE(lab_->runtime().cleanup(*handle));
  EXPECT_FALSE(host_has_interface(link.host_interface));
  EXPECT_TRUE(lab_->runtime().cleanup(*handle));  // idempotent: the link is already gone
}

TEST_F(NsRuntimeTest, LinkWithoutNameserversLeavesTheTemplatesResolvConf) {
  write_text(lab_->rootfs() / "etc/resolv.conf", "nameserver 192.0.2.1\n");
  NetworkLink link = test_link(101);
  fs::path out;
  auto spec = lab_->spec("cat /etc/resolv.conf > /out/resolv; echo done > /out/done; exec sleep 1000", &out);
  spec.network = link;
  auto handle = lab_->start(spec);
  ASSERT_TRUE(handle) << handle.error().message;
  ASSERT_TRUE(wait_for_file(out / "done"));
  fs::remove(lab_->rootfs() / "etc/resolv.conf");
  EXPECT_EQ(read_text(out / "resolv"), "nameserver 192.0.2.1\n");
  ASSERT_TRUE(lab_->runtime().cleanup(*handle));
}

TEST_F(NsRuntimeTest, LeftoverHostInterfaceIsReplaced) {
  NetworkLink link = test_link(102);
  // What a crashed server leaves behind: a veth of that name whose sandbox it no longer knows.
  ASSERT_EQ(
      std::system(("ip link add " + link.host_interface + " type veth peer name " + link.host_interface + "p")
                      .c_str()),
      0);
  ASSERT_TRUE(host_has_interface(link.host_interface + "p"));
  for (int run = 0; run < 2; ++run) {  // the second start reuses the name cleanup has just freed
    fs::path out;
    auto spec =
        lab_->spec("ip -o -4 addr show dev eth0 > /out/addr; echo done > /out/done; exec sleep 1000", &out);
    spec.network = link;
    auto handle = lab_->start(spec);
    ASSERT_TRUE(handle) << handle.error().message;
    ASSERT_TRUE(wait_for_file(out / "done"));
    EXPECT_NE(read_text(out / "addr").find(dotted(link.sandbox_address) + "/31"), std::string::npos);
    EXPECT_FALSE(host_has_interface(link.host_interface + "p"));  // went with the leftover
    EXPECT_TRUE(host_has_interface(link.host_interface));
    ASSERT_TRUE(lab_->runtime().cleanup(*handle));
    EXPECT_FALSE(host_has_interface(link.host_interface));
  }
}

TEST_F(NsRuntimeTest, AHostInterfaceThatIsNoVethIsLeftAlone) {
  NetworkLink link = test_link(103);
  link.host_interface = "lo";
  auto spec = lab_->spec("true");
  spec.network = link;
  auto handle = lab_->start(spec);
  ASSERT_FALSE(handle);
  EXPECT_EQ(handle.error().code, ErrorCode::kAlreadyExists) << handle.error().message;
  EXPECT_NE(handle.error().message.find("host interface lo exists and is not a veth"), std::string::npos)
      << handle.error().message;
  EXPECT_TRUE(host_has_interface("lo"));
  EXPECT_FALSE(fs::exists(spec.sandbox_dir));
  // cleanup with such a handle does not touch it either.
  SandboxHandle stale = lab_->runtime().handle_for(spec.id, spec.sandbox_dir);
  stale.network = NetworkLinkHandle{"lo", link.host_address, link.sandbox_address};
  EXPECT_TRUE(lab_->runtime().cleanup(stale));
  EXPECT_TRUE(host_has_interface("lo"));
}

TEST_F(NsRuntimeTest, StartFailuresLeaveNoInterface) {
  // In the child, after the link is up: PID 1 does not exist.
  NetworkLink link = test_link(104);
  link.nameservers = {ipv4(192, 0, 2, 53)};
  auto spec = lab_->spec("true");
  spec.argv = {"/bin/no-such-agent"};
  spec.network = link;
  auto handle = lab_->start(spec);
  ASSERT_FALSE(handle);
  EXPECT_NE(handle.error().message.find("executing PID 1"), std::string::npos) << handle.error().message;
  EXPECT_FALSE(host_has_interface(link.host_interface));
  EXPECT_FALSE(fs::exists(spec.sandbox_dir));

  // In the child's own link step: /etc/resolv.conf is a directory.
  fs::path layer = lab_->base() / ("layer-resolv-" + testing::random_sandbox_id());
  fs::create_directories(layer / "etc/resolv.conf");
  for (const auto& dir : {layer, layer / "etc", layer / "etc/resolv.conf"}) {
    ASSERT_EQ(::chown(dir.c_str(), kSandboxIdBase, kSandboxIdBase), 0);
  }
  spec = lab_->spec("true");
  spec.layers = {layer.string()};
  spec.network = link;
  handle = lab_->start(spec);
  ASSERT_FALSE(handle);
  EXPECT_NE(handle.error().message.find("writing /etc/resolv.conf"), std::string::npos)
      << handle.error().message;
  EXPECT_FALSE(host_has_interface(link.host_interface));

  // Before anything is made: a bad link.
  NetworkLink long_name = test_link(105);
  long_name.host_interface = "cbt-far-too-long";
  NetworkLink not_a_pair = test_link(105);
  not_a_pair.sandbox_address += 1;
  NetworkLink bad_mtu = test_link(105);
  bad_mtu.mtu = 20;
  NetworkLink upper_case = test_link(105);
  upper_case.host_interface = "CBT0";
  for (const auto& bad : {long_name, not_a_pair, bad_mtu, upper_case}) {
    spec = lab_->spec("true");
    spec.network = bad;
    handle = lab_->start(spec);
    ASSERT_FALSE(handle);
    EXPECT_EQ(handle.error().code, ErrorCode::kInvalidArgument) << handle.error().message;
    EXPECT_FALSE(host_has_interface(bad.host_interface));
    EXPECT_FALSE(fs::exists(spec.sandbox_dir));
  }
}

TEST_F(NsRuntimeTest, LinkSetUpLatency) {
  constexpr int kRuns = 20;
  NetworkLink link = test_link(106);
  // A pause after each cleanup, so that no start runs into the RCU work of the previous sandbox's teardown:
  // back to back, moving PID 1 into its cgroups takes ~10 ms longer after a teardown that deleted a veth,
  // which is not what the link costs the start itself (~1 ms here).
  auto median_start_ms = [&](bool linked, double& min, double& max) {
    std::vector<double> ms;
    for (int i = 0; i < kRuns; ++i) {
      auto spec = lab_->spec("");
      spec.argv = {"/bin/sleep", "1000"};
      if (linked) spec.network = link;
      auto begin = std::chrono::steady_clock::now();
      auto handle = lab_->runtime().start(spec);
      auto started = std::chrono::steady_clock::now();
      EXPECT_TRUE(handle) << handle.error().message;
      if (!handle) return 0.0;
      EXPECT_TRUE(lab_->runtime().cleanup(*handle));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ms.push_back(std::chrono::duration<double, std::milli>(started - begin).count());
    }
    std::sort(ms.begin(), ms.end());
    min = ms.front();
    max = ms.back();
    return ms[kRuns / 2];
  };
  double without_min = 0, without_max = 0, with_min = 0, with_max = 0;
  double without = median_start_ms(false, without_min, without_max);
  double with = median_start_ms(true, with_min, with_max);
  EXPECT_FALSE(host_has_interface(link.host_interface));
  std::printf(
      "[ latency  ] start without a link: median %.2f ms (min %.2f, max %.2f); with a link: median %.2f ms "
      "(min %.2f, max %.2f); the link adds %.2f ms (median)\n",
      without, without_min, without_max, with, with_min, with_max, with - without);
}

TEST_F(NsRuntimeTest, StartAndTeardownLatency) {
  constexpr int kRuns = 20;
  std::vector<double> start_ms;
  std::vector<double> teardown_ms;
  for (int i = 0; i < kRuns; ++i) {
    auto spec = lab_->spec("");
    spec.argv = {"/bin/sleep", "1000"};
    auto begin = std::chrono::steady_clock::now();
    auto handle = lab_->runtime().start(spec);
    auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(handle) << handle.error().message;
    ASSERT_TRUE(lab_->runtime().kill(*handle));
    ASSERT_TRUE(lab_->runtime().cleanup(*handle));
    auto done = std::chrono::steady_clock::now();
    start_ms.push_back(std::chrono::duration<double, std::milli>(started - begin).count());
    teardown_ms.push_back(std::chrono::duration<double, std::milli>(done - started).count());
  }
  std::sort(start_ms.begin(), start_ms.end());
  std::sort(teardown_ms.begin(), teardown_ms.end());
  std::printf(
      "[ latency  ] start -> PID 1 exec'd: median %.2f ms (min %.2f, max %.2f); kill+cleanup: median %.2f ms "
      "(min %.2f, max %.2f)\n",
      start_ms[kRuns / 2], start_ms.front(), start_ms.back(), teardown_ms[kRuns / 2], teardown_ms.front(),
      teardown_ms.back());
  EXPECT_LT(start_ms[kRuns / 2], 500.0);
}

}  // namespace
}  // namespace cellblock::runtime
