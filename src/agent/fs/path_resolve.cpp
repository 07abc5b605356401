#include "agent/fs/path_resolve.h"

#include <vector>

#include <fmt/format.h>

namespace cellblock::agent {

std::string normalize_path(std::string_view absolute) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= absolute.size()) {
    std::size_t end = absolute.find('/', start);
    if (end == std::string_view::npos) end = absolute.size();
    std::string_view part = absolute.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string result;
  for (auto part : parts) {
    result += '/';
    result += part;
  }
  return result.empty() ? "/" : result;
}

Result<std::string> resolve_path(std::string_view path, const UserSpec& user) {
  const std::string& workdir = user.workdir.empty() ? user.home : user.workdir;
  if (path.empty()) return normalize_path(workdir);
  if (path == "~" || path.starts_with("~/")) return normalize_path(user.home + std::string(path.substr(1)));
  if (path.front() == '~') {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("path '{}' cannot be resolved: only ~ and ~/ are expanded", path));
  }
  if (path.find('\0') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "path contains a NUL byte");
  }
  if (path.front() == '/') return normalize_path(path);
  const std::string& base = user.relative_base.empty() ? workdir : user.relative_base;
  return normalize_path(base + "/" + std::string(path));
}

std::string base_name(std::string_view path) {
  if (path == "/" || path.empty()) return "/";
  return std::string(path.substr(path.rfind('/') + 1));
}

std::string parent_path(std::string_view path) {
  std::size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(path.substr(0, slash));
}

}  // namespace cellblock::agent
