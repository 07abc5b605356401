#pragma once
// envd's filesystem.Filesystem operations on absolute (already resolved) paths. Error codes follow the spec
// (§5.5): the SDK turns not_found into FileNotFoundError / `false`, already_exists from MakeDir into `false`.

#include <string>
#include <vector>

#include "agent/fs/entry_info.h"
#include "agent/process/user.h"
#include "common/error.h"

namespace cellblock::agent {

// Creates `path` and missing parents (mode 0755, owned by `user` when the agent is root). Existing directory
// → kAlreadyExists; existing non-directory (or a parent that is not a directory) → kInvalidArgument.
Result<EntryInfo> make_dir(const std::string& path, const UserSpec& user);

// Creates the missing parent directories of `path` like make_dir (for uploads and moves). An existing parent
// is fine.
Status make_parent_dirs(const std::string& path, const UserSpec& user);

// Renames `source` to `destination`, creating the destination's parents. Missing source → kNotFound. Returns
// the entry at the destination.
Result<EntryInfo> move(const std::string& source, const std::string& destination, const UserSpec& user);

// The entries below `path` down to `depth` levels (1 = direct children; 0 is treated as 1), depth-first in
// name order as Go's WalkDir. Symlinked directories are listed, not entered. `path` itself may be a symlink
// to a directory. Missing → kNotFound; not a directory → kInvalidArgument.
Result<std::vector<EntryInfo>> list_dir(const std::string& path, int depth = 1);

// Removes `path`, recursively for directories (symlinks are removed, never followed). A path that does not
// exist is a success, as in envd (Go's os.RemoveAll).
Status remove_path(const std::string& path);

}  // namespace cellblock::agent
