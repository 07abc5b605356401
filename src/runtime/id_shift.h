#pragma once
// Sandboxes run in a user namespace mapping ids 0..65535 inside to kSandboxIdBase..kSandboxIdBase+65535 on
// the host, so root inside is an unprivileged uid outside. A template's files are shifted by the same base
// once, when the template is built, so files owned by root in the image appear as root (and are writable)
// inside.

#include <cstdint>
#include <string>

#include "common/error.h"

namespace cellblock::runtime {

inline constexpr std::uint32_t kSandboxIdBase = 100000;
inline constexpr std::uint32_t kSandboxIdCount = 65536;

// lchowns every entry of the tree at `root` (root included, symlinks not followed, other filesystems not
// entered) from uid/gid N to base + N. Ids already inside [base, base + 65536) are left alone, so a second
// run is harmless; ids >= 65536 become base + 65534 (nobody inside). setuid/setgid bits, which chown clears,
// are restored.
Status shift_ownership(const std::string& root, std::uint32_t base);

}  // namespace cellblock::runtime
