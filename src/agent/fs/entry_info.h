#pragma once
// envd's EntryInfo: what Stat, MakeDir, Move, ListDir and watch events say about one filesystem entry.

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/object.hpp>

#include "agent/fs/xattr_metadata.h"
#include "common/error.h"

namespace cellblock::agent {

enum class FileType { kUnspecified, kFile, kDirectory, kSymlink };

struct EntryInfo {
  std::string name;
  FileType type = FileType::kUnspecified;
  std::string path;  // absolute
  std::int64_t size = 0;
  std::uint32_t mode = 0;   // st_mode & 07777
  std::string permissions;  // ls style: "-rw-r--r--", "drwxr-xr-x", "lrwxrwxrwx"
  std::string owner;        // user name, or the numeric uid as a string
  std::string group;
  std::int64_t modified_unix_nanos = 0;
  std::optional<std::string> symlink_target;  // only for symlinks: the absolute, fully resolved target
  FileMetadata metadata;
};

// lstat()s `path` (a symlink is described, not followed). Missing → kNotFound "path '<p>' does not exist".
Result<EntryInfo> stat_entry(const std::string& path);
// The same from an lstat result already at hand (directory walks).
EntryInfo entry_from_stat(const std::string& path, const struct stat& st);

// Protobuf JSON (§5.3): lowerCamelCase names, size as a string, enum names, RFC 3339 modifiedTime;
// symlinkTarget only when set; metadata always (an empty object when none).
boost::json::object to_json(const EntryInfo& entry);

std::string_view file_type_name(FileType type);  // "FILE_TYPE_FILE", …
std::string permissions_string(mode_t mode);

}  // namespace cellblock::agent
