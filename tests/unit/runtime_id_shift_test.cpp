#include "runtime/id_shift.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cellblock::runtime {
namespace {

namespace fs = std::filesystem;

struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  ::lstat(path.c_str(), &st);
  return st;
}

TEST(RuntimeIdShift, ShiftsEveryEntryOnceAndKeepsSetuidBits) {
  if (::geteuid() != 0) GTEST_SKIP() << "lchown to other uids needs root";
  char pattern[] = "/tmp/cellblock-shift-XXXXXX";
  fs::path root = ::mkdtemp(pattern);
  fs::create_directories(root / "etc");
  std::ofstream(root / "etc/passwd") << "root:x:0:0::/root:/bin/sh\n";
  std::ofstream(root / "suid") << "x";
  ::lchown((root / "suid").c_str(), 0, 0);
  ::chmod((root / "suid").c_str(), 04755);
  std::ofstream(root / "user-file") << "x";
  ::lchown((root / "user-file").c_str(), 1000, 1001);
  std::ofstream(root / "huge-id") << "x";
  ::lchown((root / "huge-id").c_str(), 70000, 70000);
  fs::create_symlink("/etc/shadow", root / "link");  // must not touch the host's /etc/shadow
  struct stat shadow_before = lstat_of("/etc/shadow");

  ASSERT_TRUE(shift_ownership(root.string(), kSandboxIdBase));
  EXPECT_EQ(lstat_of(root).st_uid, kSandboxIdBase);
  EXPECT_EQ(lstat_of(root / "etc/passwd").st_uid, kSandboxIdBase);
  EXPECT_EQ(lstat_of(root / "etc/passwd").st_gid, kSandboxIdBase);
  EXPECT_EQ(lstat_of(root / "suid").st_uid, kSandboxIdBase);
  EXPECT_EQ(lstat_of(root / "suid").st_mode & 07777, 04755u);
  EXPECT_EQ(lstat_of(root / "user-file").st_uid, kSandboxIdBase + 1000);
  EXPECT_EQ(lstat_of(root / "user-file").st_gid, kSandboxIdBase + 1001);
  EXPECT_EQ(lstat_of(root / "huge-id").st_uid, kSandboxIdBase + 65534);
  EXPECT_EQ(lstat_of(root / "link").st_uid, kSandboxIdBase);
  EXPECT_EQ(lstat_of("/etc/shadow").st_uid, shadow_before.st_uid);

  // A second run changes nothing.
  ASSERT_TRUE(shift_ownership(root.string(), kSandboxIdBase));
  EXPECT_EQ(lstat_of(root / "user-file").st_uid, kSandboxIdBase + 1000);
  fs::remove_all(root);
}

TEST(RuntimeIdShift, MissingTreeIsAnError) {
  auto result = shift_ownership("/nonexistent/cellblock-tree", kSandboxIdBase);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cellblock::runtime
