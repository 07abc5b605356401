#pragma once
// How envd turns a request path into an absolute path for a user.

#include <string>
#include <string_view>

#include "agent/process/user.h"
#include "common/error.h"

namespace cellblock::agent {

// `~` and `~/x` expand to the user's home; an empty path is the user's workdir (the default workdir, or
// home); other relative paths resolve against the user's relative_base (see UserSpec), else the workdir.
// The result is absolute and lexically normalised ("a/./b/../c" → "a/c"; ".." never climbs above "/");
// symlinks are not resolved. `~name` forms → kInvalidArgument.
Result<std::string> resolve_path(std::string_view path, const UserSpec& user);

// Lexical normalisation of an absolute path.
std::string normalize_path(std::string_view absolute);

// The last component of a normalised absolute path ("/" for the root).
std::string base_name(std::string_view path);
// The parent of a normalised absolute path ("/" for top-level entries and the root).
std::string parent_path(std::string_view path);

}  // namespace cellblock::agent
