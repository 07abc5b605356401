#include "runtime/id_shift.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace cellblock::runtime {

namespace {

constexpr std::uint32_t kNobodyInside = 65534;

// nftw offers no context pointer; the walk runs on the calling thread only, so thread_local state is enough.
thread_local std::uint32_t walk_base = 0;
thread_local int walk_errno = 0;
thread_local std::string walk_failed_copy;

std::uint32_t shifted(std::uint32_t id, std::uint32_t base) {
  if (id >= base && id - base < kSandboxIdCount) return id;
  if (id >= kSandboxIdCount) return base + kNobodyInside;
  return base + id;
}

int shift_entry(const char* path, const struct stat* st, int type, struct FTW*) {
  if (type == FTW_NS || type == FTW_DNR) {
    walk_errno = EACCES;
    walk_failed_copy = path;
    return 1;
  }
  uid_t uid = shifted(st->st_uid, walk_base);
  gid_t gid = shifted(st->st_gid, walk_base);
  if (uid == st->st_uid && gid == st->st_gid) return 0;
  if (::lchown(path, uid, gid) != 0) {
    walk_errno = errno;
    walk_failed_copy = path;
    return 1;
  }
  bool special_bits = (st->st_mode & (S_ISUID | S_ISGID)) != 0;
  if (special_bits && !S_ISLNK(st->st_mode) && ::chmod(path, st->st_mode & 07777) != 0) {
    walk_errno = errno;
    walk_failed_copy = path;
    return 1;
  }
  return 0;
}

}  // namespace

Status shift_ownership(const std::string& root, std::uint32_t base) {
  if (base == 0 || base > UINT32_MAX - kSandboxIdCount) {
    return fail(ErrorCode::kInvalidArgument, "shift_ownership: base must leave room for 65536 ids");
  }
  walk_base = base;
  walk_errno = 0;
  walk_failed_copy.clear();
  // FTW_PHYS: never follow symlinks (an image may point them anywhere on the host); FTW_MOUNT: stay on one
  // fs.
  int rc = ::nftw(root.c_str(), shift_entry, 64, FTW_PHYS | FTW_MOUNT);
  if (rc == -1) return tl::unexpected(system_error("shift_ownership: walking " + root, errno));
  if (rc != 0) {
    return tl::unexpected(system_error("shift_ownership: changing owner of " + walk_failed_copy, walk_errno));
  }
  return {};
}

}  // namespace cellblock::runtime
