#include "template/ownership_shift.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

#include "template/build_directory.h"

namespace cellblock::templates {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cellblock-owner-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    (void)detach_mounts_under(path_);
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

#define REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (lchown to other ids, mount)"

TEST(ShiftTreeOwnership, ShiftsEveryEntryWithoutFollowingSymlinks) {
  REQUIRE_ROOT();
  TempDir tree;
  TempDir outside;  // a symlink target outside the tree must keep its owner
  const fs::path root = tree.path() / "rootfs";
  fs::create_directories(root / "etc" / "sudoers.d");
  fs::create_directories(root / "home" / "user");
  std::ofstream(root / "etc" / "passwd") << "root:x:0:0::/root:/bin/sh\n";
  std::ofstream(root / "home" / "user" / ".bashrc") << "# bashrc\n";
  std::ofstream(outside.path() / "host-file") << "host\n";
  fs::create_symlink(outside.path() / "host-file", root / "etc" / "escape");
  ASSERT_EQ(::lchown((root / "home" / "user").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::lchown((root / "home" / "user" / ".bashrc").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::chown(root.c_str(), 0, 0), 0);

  auto count = shift_tree_ownership(root, 100000);
  ASSERT_TRUE(count.has_value()) << count.error().message;
  EXPECT_EQ(*count, 8u);  // rootfs, etc, sudoers.d, passwd, escape, home, user, .bashrc

  EXPECT_EQ(lstat_of(root).st_uid, 100000u);
  EXPECT_EQ(lstat_of(root / "etc" / "passwd").st_uid, 100000u);
  EXPECT_EQ(lstat_of(root / "etc" / "passwd").st_gid, 100000u);
  EXPECT_EQ(lstat_of(root / "etc" / "sudoers.d").st_uid, 100000u);
  EXPECT_EQ(lstat_of(root / "home" / "user").st_uid, 101000u);
  EXPECT_EQ(lstat_of(root / "home" / "user" / ".bashrc").st_gid, 101000u);
  EXPECT_EQ(lstat_of(root / "etc" / "escape").st_uid, 100000u);  // the link itself
  EXPECT_EQ(lstat_of(outside.path() / "host-file").st_uid, 0u);  // not its target
}

TEST(ShiftTreeOwnership, KeepsSetuidBitsAndFileCapabilities) {
  REQUIRE_ROOT();
  TempDir tree;
  const fs::path sudo = tree.path() / "sudo";
  const fs::path ping = tree.path() / "ping";
  std::ofstream(sudo) << "binary";
  std::ofstream(ping) << "binary";
  ASSERT_EQ(::chmod(sudo.c_str(), 04755), 0);
  ASSERT_EQ(::chmod((tree.path()).c_str(), 02755), 0);
  // cap_net_raw+ep as a VFS_CAP_REVISION_2 xattr (what `setcap cap_net_raw+ep` writes).
  const unsigned char cap[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00,
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  const bool have_caps = ::setxattr(ping.c_str(), "security.capability", cap, sizeof cap, 0) == 0;

  auto count = shift_tree_ownership(tree.path(), 100000);
  ASSERT_TRUE(count.has_value()) << count.error().message;
  EXPECT_EQ(lstat_of(sudo).st_uid, 100000u);
  EXPECT_EQ(lstat_of(sudo).st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of(tree.path()).st_mode & 07777, 02755u);
  if (have_caps) {
    unsigned char read_back[64];
    const ssize_t size = ::getxattr(ping.c_str(), "security.capability", read_back, sizeof read_back);
    EXPECT_EQ(size, static_cast<ssize_t>(sizeof cap));
  }
}

TEST(ShiftTreeOwnership, DoesNotCrossIntoMounts) {
  REQUIRE_ROOT();
  TempDir tree;
  const fs::path proc = tree.path() / "proc";
  fs::create_directories(proc);
  if (::mount("tmpfs", proc.c_str(), "tmpfs", 0, "size=1m") != 0) GTEST_SKIP() << "cannot mount tmpfs";
  std::ofstream(proc / "inside") << "x";
  auto count = shift_tree_ownership(tree.path(), 100000);
  ASSERT_TRUE(count.has_value()) << count.error().message;
  EXPECT_EQ(lstat_of(proc / "inside").st_uid, 0u);
  EXPECT_EQ(lstat_of(tree.path()).st_uid, 100000u);
}

TEST(RemoveBuildTree, DetachesLeftoverMountsBeforeDeleting) {
  REQUIRE_ROOT();
  TempDir holder;
  TempDir host;  // stands for the host's /dev that a killed build left bind-mounted inside its tree
  std::ofstream(host.path() / "precious") << "keep me";
  const fs::path tree = holder.path() / ".build-x-1";
  fs::create_directories(tree / "rootfs" / "dev");
  std::ofstream(tree / "rootfs" / "file") << "x";
  if (::mount(host.path().c_str(), (tree / "rootfs" / "dev").c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "cannot bind mount";
  }
  ASSERT_TRUE(fs::exists(tree / "rootfs" / "dev" / "precious"));

  auto removed = remove_build_tree(tree);
  ASSERT_TRUE(removed.has_value()) << removed.error().message;
  EXPECT_FALSE(fs::exists(tree));
  EXPECT_TRUE(fs::exists(host.path() / "precious"));
  EXPECT_TRUE(remove_build_tree(tree).has_value());  // already gone: fine
}

}  // namespace
}  // namespace cellblock::templates
