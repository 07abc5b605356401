#include "template/ownership_shift.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace cellblock::templates {
namespace {

constexpr const char* kCapabilityXattr = "security.capability";

std::optional<std::string> read_capabilities(const std::filesystem::path& path) {
  std::string value(256, '\0');
  const ssize_t size = ::lgetxattr(path.c_str(), kCapabilityXattr, value.data(), value.size());
  if (size < 0) return std::nullopt;
  value.resize(static_cast<std::size_t>(size));
  return value;
}

Status shift_entry(const std::filesystem::path& path, const struct stat& st, uid_t base) {
  constexpr auto kMaxId = std::numeric_limits<uid_t>::max() - 1;  // -1 means "unchanged" to chown
  if (st.st_uid > kMaxId - base || st.st_gid > kMaxId - base) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} has ids {}:{} that cannot be shifted by {}",
                                                         path.string(), st.st_uid, st.st_gid, base));
  }
  const bool regular = S_ISREG(st.st_mode);
  const auto capabilities = regular ? read_capabilities(path) : std::nullopt;
  if (::lchown(path.c_str(), st.st_uid + base, st.st_gid + base) != 0) {
    return tl::unexpected(system_error("lchown " + path.string(), errno));
  }
  if (regular && (st.st_mode & (S_ISUID | S_ISGID)) != 0 && ::chmod(path.c_str(), st.st_mode & 07777) != 0) {
    return tl::unexpected(system_error("chmod " + path.string(), errno));
  }
  if (capabilities &&
      ::lsetxattr(path.c_str(), kCapabilityXattr, capabilities->data(), capabilities->size(), 0) != 0) {
    return tl::unexpected(system_error("restore file capabilities of " + path.string(), errno));
  }
  return {};
}

}  // namespace

Result<std::uint64_t> shift_tree_ownership(const std::filesystem::path& root, uid_t base) {
  struct stat root_stat {};
  if (::lstat(root.c_str(), &root_stat) != 0)
    return tl::unexpected(system_error("lstat " + root.string(), errno));
  if (auto status = shift_entry(root, root_stat, base); !status) return tl::unexpected(status.error());
  std::uint64_t count = 1;
  if (!S_ISDIR(root_stat.st_mode)) return count;

  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0)
      return tl::unexpected(system_error("lstat " + it->path().string(), errno));
    if (st.st_dev != root_stat.st_dev) {  // a mount point: another file system, never ours to change
      it.disable_recursion_pending();
      continue;
    }
    if (auto status = shift_entry(it->path(), st, base); !status) return tl::unexpected(status.error());
    ++count;
  }
  if (ec) return tl::unexpected(system_error("walk " + root.string(), ec.value()));
  return count;
}

}  // namespace cellblock::templates
