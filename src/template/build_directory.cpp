#include "template/build_directory.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace cellblock::templates {
namespace {

// /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_mount_path(std::string_view escaped) {
  std::string out;
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '\\' && i + 3 < escaped.size()) {
      const std::string digits(escaped.substr(i + 1, 3));
      if (digits.find_first_not_of("01234567") == std::string::npos) {
        out.push_back(static_cast<char>(std::stoi(digits, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(escaped[i]);
  }
  return out;
}

std::vector<std::string> mount_points_under(const std::filesystem::path& dir) {
  const std::string prefix = dir.lexically_normal().string();
  std::vector<std::string> points;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point;
    fields >> id >> parent >> device >> root >> mount_point;
    const auto point = unescape_mount_path(mount_point);
    if (point == prefix || point.starts_with(prefix + "/")) points.push_back(point);
  }
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return points;
}

}  // namespace

Status detach_mounts_under(const std::filesystem::path& dir) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(dir, ec);
  for (const auto& point : mount_points_under(absolute)) {
    if (::umount2(point.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
      return tl::unexpected(system_error("unmount " + point, errno));
    }
  }
  return {};
}

Status remove_build_tree(const std::filesystem::path& dir) {
  struct stat root {};
  if (::lstat(dir.c_str(), &root) != 0) {
    if (errno == ENOENT) return {};
    return tl::unexpected(system_error("lstat " + dir.string(), errno));
  }
  if (auto status = detach_mounts_under(dir); !status) return status;

  std::error_code ec;
  if (S_ISDIR(root.st_mode)) {
    std::filesystem::recursive_directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) == 0 && st.st_dev != root.st_dev) {
        return fail(ErrorCode::kInternal,
                    fmt::format("refusing to delete {}: {} is still a mount point; unmount it and retry",
                                dir.string(), it->path().string()));
      }
    }
    if (ec) return tl::unexpected(system_error("walk " + dir.string(), ec.value()));
  }
  std::filesystem::remove_all(dir, ec);
  if (ec) return tl::unexpected(system_error("remove " + dir.string(), ec.value()));
  return {};
}

}  // namespace cellblock::templates
