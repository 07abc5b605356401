#pragma once
// A template's files are owned by the ids they will have on the host while a sandbox runs: sandboxes map
// their ids 0..65535 onto host ids base..base+65535 (root inside = 100000 outside), so an image file owned by
// root must belong to host uid 100000 to be root's inside. Shifting once at build time lets every sandbox use
// the template as its read-only lower layer directly, with no per-sandbox copy or idmapped mount.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>

#include "common/error.h"

namespace cellblock::templates {

inline constexpr uid_t kSandboxIdBase = 100000;

// Adds `base` to the owner and group of every entry under (and including) `root`, without following symlinks
// (lchown) and without crossing into other mounted file systems. chown clears set-id bits and file
// capabilities, so both are put back (sudo must stay setuid). Returns the number of entries changed.
Result<std::uint64_t> shift_tree_ownership(const std::filesystem::path& root, uid_t base);

}  // namespace cellblock::templates
