#pragma once
// Removing a half-built root filesystem safely. A build that was killed can leave /proc, /sys or /dev of the
// host mounted inside it; a plain recursive delete would then walk into them and destroy host files.

#include <filesystem>

#include "common/error.h"

namespace cellblock::templates {

// Lazily unmounts every mount point at or below `dir` (deepest first).
Status detach_mounts_under(const std::filesystem::path& dir);

// Detaches mounts, then deletes `dir` recursively, refusing (kInternal, nothing deleted) if some directory
// below it still belongs to another file system. A missing `dir` is fine.
Status remove_build_tree(const std::filesystem::path& dir);

}  // namespace cellblock::templates
