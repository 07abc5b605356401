#include "common/disk_usage.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <array>
#include <set>
#include <utility>

#include <fmt/format.h>

namespace cellblock {

namespace fs = std::filesystem;

std::uint64_t disk_usage(const fs::path& dir) {
  std::set<std::pair<dev_t, ino_t>> linked;  // inodes with several names, counted at the first
  std::uint64_t total = 0;
  auto count = [&](const fs::path& path) {
    struct stat st {};
    if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked.emplace(st.st_dev, st.st_ino).second) return;
    total += static_cast<std::uint64_t>(st.st_blocks) * 512;
  };
  std::error_code ec;
  count(dir);
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    count(it->path());
  }
  return total;
}

std::string human_size(std::uint64_t bytes) {
  static constexpr std::array<const char*, 5> kUnits{"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < kUnits.size()) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

}  // namespace cellblock
