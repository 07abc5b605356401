#include "agent/fs/fs_operations.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "agent/fs/path_resolve.h"

namespace cellblock::agent {

namespace {

Error not_found(const std::string& path) {
  return Error{ErrorCode::kNotFound, fmt::format("path '{}' does not exist", path)};
}

std::string join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

// Creates one directory; an existing directory is fine (another request may have won the race).
Status create_one_dir(const std::string& path, const UserSpec& user) {
  if (::mkdir(path.c_str(), 0755) == 0) {
    // New directories belong to the requesting user, as they would had the user created them.
    if (::geteuid() == 0 && ::lchown(path.c_str(), user.uid, user.gid) != 0) {
      return tl::unexpected(system_error(fmt::format("chown '{}'", path), errno));
    }
    return {};
  }
  int error = errno;
  struct stat st {};
  if (error == EEXIST && ::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    return fail(ErrorCode::kInvalidArgument, fmt::format("path '{}' exists and is not a directory", path));
  }
  if (error == ENOTDIR)
    return fail(ErrorCode::kInvalidArgument, fmt::format("a parent of '{}' is not a directory", path));
  return tl::unexpected(system_error(fmt::format("create directory '{}'", path), error));
}

// Creates every missing directory from the root down to `path` inclusive.
Status create_dirs(const std::string& path, const UserSpec& user) {
  std::size_t position = 0;
  while (position != std::string::npos) {
    position = path.find('/', position + 1);
    std::string prefix = path.substr(0, position);
    if (prefix.empty()) continue;
    if (auto created = create_one_dir(prefix, user); !created) return created;
  }
  return {};
}

std::vector<std::string> sorted_children(const std::string& dir) {
  std::vector<std::string> names;
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return names;
  while (dirent* entry = ::readdir(stream)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(stream);
  std::sort(names.begin(), names.end());
  return names;
}

void walk(const std::string& dir, int levels_left, std::vector<EntryInfo>& out) {
  for (const auto& name : sorted_children(dir)) {
    std::string path = join(dir, name);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;  // vanished meanwhile
    out.push_back(entry_from_stat(path, st));
    if (levels_left > 1 && S_ISDIR(st.st_mode)) walk(path, levels_left - 1, out);
  }
}

Status remove_tree(int parent_fd, const char* name, const std::string& display) {
  if (::unlinkat(parent_fd, name, 0) == 0) return {};
  int error = errno;
  if (error != EISDIR && error != EPERM)
    return tl::unexpected(system_error(fmt::format("remove '{}'", display), error));
  int dir_fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir_fd < 0) return tl::unexpected(system_error(fmt::format("open '{}'", display), errno));
  DIR* stream = ::fdopendir(dir_fd);
  if (stream == nullptr) {
    ::close(dir_fd);
    return tl::unexpected(system_error(fmt::format("open '{}'", display), errno));
  }
  std::vector<std::string> children;
  while (dirent* entry = ::readdir(stream)) {
    std::string_view child = entry->d_name;
    if (child != "." && child != "..") children.emplace_back(child);
  }
  Status result;
  for (const auto& child : children) {
    result = remove_tree(dirfd(stream), child.c_str(), display + "/" + child);
    if (!result) break;
  }
  ::closedir(stream);
  if (!result) return result;
  if (::unlinkat(parent_fd, name, AT_REMOVEDIR) != 0) {
    return tl::unexpected(system_error(fmt::format("remove '{}'", display), errno));
  }
  return {};
}

}  // namespace

Result<EntryInfo> make_dir(const std::string& path, const UserSpec& user) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return fail(ErrorCode::kAlreadyExists, fmt::format("directory '{}' already exists", path));
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("path '{}' already exists and is not a directory", path));
  }
  if (auto created = create_dirs(path, user); !created) return tl::unexpected(created.error());
  return stat_entry(path);
}

Status make_parent_dirs(const std::string& path, const UserSpec& user) {
  std::string parent = parent_path(path);
  if (parent == "/") return {};
  return create_dirs(parent, user);
}

Result<EntryInfo> move(const std::string& source, const std::string& destination, const UserSpec& user) {
  struct stat st {};
  if (::lstat(source.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return tl::unexpected(not_found(source));
    return tl::unexpected(system_error(fmt::format("stat '{}'", source), errno));
  }
  if (auto parents = make_parent_dirs(destination, user); !parents) return tl::unexpected(parents.error());
  if (::rename(source.c_str(), destination.c_str()) != 0) {
    return tl::unexpected(system_error(fmt::format("move '{}' to '{}'", source, destination), errno));
  }
  return stat_entry(destination);
}

Result<std::vector<EntryInfo>> list_dir(const std::string& path, int depth) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return tl::unexpected(not_found(path));
    return tl::unexpected(system_error(fmt::format("stat '{}'", path), errno));
  }
  if (!S_ISDIR(st.st_mode))
    return fail(ErrorCode::kInvalidArgument, fmt::format("path '{}' is not a directory", path));
  if (::access(path.c_str(), R_OK | X_OK) != 0) {
    return tl::unexpected(system_error(fmt::format("list '{}'", path), errno));
  }
  std::vector<EntryInfo> entries;
  walk(path, std::max(depth, 1), entries);
  return entries;
}

Status remove_path(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return {};  // already gone: envd's os.RemoveAll succeeds too
    return tl::unexpected(system_error(fmt::format("stat '{}'", path), errno));
  }
  if (path == "/") return fail(ErrorCode::kInvalidArgument, "refusing to remove '/'");
  std::string parent = parent_path(path);
  std::string name = base_name(path);
  int parent_fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent_fd < 0) return tl::unexpected(system_error(fmt::format("open '{}'", parent), errno));
  Status removed = remove_tree(parent_fd, name.c_str(), path);
  ::close(parent_fd);
  return removed;
}

}  // namespace cellblock::agent
