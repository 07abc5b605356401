#include "agent/fs/entry_info.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "agent/fs/path_resolve.h"
#include "common/encoding.h"

namespace cellblock::agent {

namespace {

std::string owner_name(uid_t uid) {
  std::vector<char> buffer(4096);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    return entry.pw_name;
  return std::to_string(uid);
}

std::string group_name(gid_t gid) {
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  if (::getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found) == 0 && found != nullptr)
    return entry.gr_name;
  return std::to_string(gid);
}

FileType file_type(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kFile;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  return FileType::kUnspecified;  // sockets, fifos, devices: the SDK drops these from list()
}

// envd reports where a link finally leads (Go's filepath.EvalSymlinks): an absolute path with every link on
// the way resolved. A link that leads nowhere (dangling, a loop) reports its own path, as envd does.
std::string link_target(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return path;
  std::string target(resolved);
  std::free(resolved);
  return target;
}

}  // namespace

std::string_view file_type_name(FileType type) {
  switch (type) {
    case FileType::kFile:
      return "FILE_TYPE_FILE";
    case FileType::kDirectory:
      return "FILE_TYPE_DIRECTORY";
    case FileType::kSymlink:
      return "FILE_TYPE_SYMLINK";
    case FileType::kUnspecified:
      break;
  }
  return "FILE_TYPE_UNSPECIFIED";
}

std::string permissions_string(mode_t mode) {
  char type = '-';
  if (S_ISDIR(mode))
    type = 'd';
  else if (S_ISLNK(mode))
    type = 'l';
  else if (S_ISCHR(mode))
    type = 'c';
  else if (S_ISBLK(mode))
    type = 'b';
  else if (S_ISFIFO(mode))
    type = 'p';
  else if (S_ISSOCK(mode))
    type = 's';
  auto bit = [mode](mode_t flag, char set) { return (mode & flag) != 0 ? set : '-'; };
  // The execute slot shows setuid/setgid/sticky the way ls does (s/S, t/T).
  auto exec = [mode](mode_t x, mode_t special, char lower, char upper) {
    if ((mode & special) != 0) return (mode & x) != 0 ? lower : upper;
    return (mode & x) != 0 ? 'x' : '-';
  };
  return {type,
          bit(S_IRUSR, 'r'),
          bit(S_IWUSR, 'w'),
          exec(S_IXUSR, S_ISUID, 's', 'S'),
          bit(S_IRGRP, 'r'),
          bit(S_IWGRP, 'w'),
          exec(S_IXGRP, S_ISGID, 's', 'S'),
          bit(S_IROTH, 'r'),
          bit(S_IWOTH, 'w'),
          exec(S_IXOTH, S_ISVTX, 't', 'T')};
}

EntryInfo entry_from_stat(const std::string& path, const struct stat& st) {
  EntryInfo entry;
  entry.path = path;
  entry.name = base_name(path);
  entry.type = file_type(st.st_mode);
  entry.size = static_cast<std::int64_t>(st.st_size);
  entry.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  entry.permissions = permissions_string(st.st_mode);
  entry.owner = owner_name(st.st_uid);
  entry.group = group_name(st.st_gid);
  entry.modified_unix_nanos = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
                              static_cast<std::int64_t>(st.st_mtim.tv_nsec);
  if (entry.type == FileType::kSymlink) entry.symlink_target = link_target(path);
  if (auto metadata = read_metadata(path)) entry.metadata = std::move(*metadata);
  return entry;
}

Result<EntryInfo> stat_entry(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return fail(ErrorCode::kNotFound, fmt::format("path '{}' does not exist", path));
    }
    return tl::unexpected(system_error(fmt::format("stat '{}'", path), error));
  }
  return entry_from_stat(path, st);
}

boost::json::object to_json(const EntryInfo& entry) {
  boost::json::object json;
  json["name"] = entry.name;
  json["type"] = file_type_name(entry.type);
  json["path"] = entry.path;
  json["size"] = std::to_string(entry.size);
  json["mode"] = entry.mode;
  json["permissions"] = entry.permissions;
  json["owner"] = entry.owner;
  json["group"] = entry.group;
  json["modifiedTime"] = rfc3339(entry.modified_unix_nanos);
  if (entry.symlink_target) json["symlinkTarget"] = *entry.symlink_target;
  boost::json::object metadata;
  for (const auto& [key, value] : entry.metadata) metadata[key] = value;
  json["metadata"] = std::move(metadata);
  return json;
}

}  // namespace cellblock::agent
