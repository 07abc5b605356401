#include "agent/fs/xattr_metadata.h"

#include <sys/xattr.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <vector>

#include <fmt/format.h>

namespace cellblock::agent {

namespace {

bool no_xattr_support(int error) {
  return error == ENOTSUP || error == EPERM;
}

bool printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// All attribute names of `path`, or the errno (callers decide whether "no xattr support" is an error).
tl::expected<std::vector<std::string>, int> list_names(const std::string& path) {
  for (;;) {
    ssize_t size = ::llistxattr(path.c_str(), nullptr, 0);
    if (size < 0) return tl::unexpected(errno);
    std::string buffer(static_cast<std::size_t>(size), '\0');
    ssize_t got = size == 0 ? 0 : ::llistxattr(path.c_str(), buffer.data(), buffer.size());
    if (got < 0 && errno == ERANGE) continue;  // grew in between
    if (got < 0) return tl::unexpected(errno);
    std::vector<std::string> names;
    std::size_t start = 0;
    while (start < static_cast<std::size_t>(got)) {
      std::size_t end = buffer.find('\0', start);
      if (end == std::string::npos) end = static_cast<std::size_t>(got);
      names.push_back(buffer.substr(start, end - start));
      start = end + 1;
    }
    return names;
  }
}

Result<std::string> read_value(const std::string& path, const std::string& name) {
  for (;;) {
    ssize_t size = ::lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
    if (size < 0)
      return tl::unexpected(system_error(fmt::format("read attribute {} of '{}'", name, path), errno));
    std::string value(static_cast<std::size_t>(size), '\0');
    ssize_t got = size == 0 ? 0 : ::lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
    if (got < 0 && errno == ERANGE) continue;
    if (got < 0)
      return tl::unexpected(system_error(fmt::format("read attribute {} of '{}'", name, path), errno));
    value.resize(static_cast<std::size_t>(got));
    return value;
  }
}

}  // namespace

Status validate_metadata(const FileMetadata& metadata) {
  for (const auto& [key, value] : metadata) {
    if (key.empty() || !printable_ascii(key) || !printable_ascii(value)) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("invalid metadata '{}': keys and values must be printable ASCII", key));
    }
  }
  return {};
}

Result<FileMetadata> read_metadata(const std::string& path) {
  FileMetadata metadata;
  auto names = list_names(path);
  if (!names) {
    int error = names.error();
    if (no_xattr_support(error)) return metadata;
    return tl::unexpected(system_error(fmt::format("list attributes of '{}'", path), error));
  }
  for (const auto& name : *names) {
    if (!name.starts_with(kMetadataXattrPrefix)) continue;
    auto value = read_value(path, name);
    if (!value) continue;  // removed in between, or unreadable: metadata is best effort on reads
    metadata.emplace(name.substr(kMetadataXattrPrefix.size()), std::move(*value));
  }
  return metadata;
}

Status set_metadata(const std::string& path, const FileMetadata& metadata) {
  if (auto valid = validate_metadata(metadata); !valid) return valid;
  auto names = list_names(path);
  if (!names) {
    int error = names.error();
    if (no_xattr_support(error)) {
      if (metadata.empty()) return {};
      return fail(
          ErrorCode::kInvalidArgument,
          fmt::format("cannot store metadata on '{}': the filesystem has no extended attributes", path));
    }
    return tl::unexpected(system_error(fmt::format("list attributes of '{}'", path), error));
  }
  for (const auto& name : *names) {
    if (!name.starts_with(kMetadataXattrPrefix)) continue;
    if (::lremovexattr(path.c_str(), name.c_str()) != 0 && errno != ENODATA) {
      return tl::unexpected(system_error(fmt::format("remove attribute {} of '{}'", name, path), errno));
    }
  }
  for (const auto& [key, value] : metadata) {
    std::string lower = key;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string name = std::string(kMetadataXattrPrefix) + lower;
    if (::lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      int error = errno;
      if (no_xattr_support(error)) {
        return fail(
            ErrorCode::kInvalidArgument,
            fmt::format("cannot store metadata on '{}': the filesystem has no extended attributes", path));
      }
      return tl::unexpected(system_error(fmt::format("set attribute {} of '{}'", name, path), error));
    }
  }
  return {};
}

}  // namespace cellblock::agent
