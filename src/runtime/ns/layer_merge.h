#pragma once
// Merging a stack of saved layers into one: a sandbox started on the merged layer sees the same files as one
// started on the stack, over the same rootfs. The stack a sandbox can start on is bounded (overlayfs takes
// its lower layers in one page of mount options), so a long pause and snapshot history is squashed into one
// layer rather than refused.
//
// The layers are applied bottom to top with cp (layer_copy.h), each after a pass that makes what the lower
// layers left agree with overlayfs' reading of the next one:
//   - a non-directory (file, symlink, device, whiteout) replaces whatever was at its path;
//   - an opaque directory replaces whatever was at its path, and what was below it;
//   - a directory over a non-directory (a file, a whiteout) replaces it and is marked opaque: the lower
//     layers' entry hid the rootfs' directory of that name, and the merged layer must still hide it;
//   - a directory over a directory merges with it, its own attributes winning.
// A whiteout the merge keeps still hides the rootfs' entry, as it did in the stack.

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.h"

namespace cellblock::runtime::ns {

// Writes the merge of `layers` (uppermost first) to `dest`, which must not exist: into `<dest>.partial`
// first, flushed to disk and renamed into place once complete, removed otherwise. Returns the bytes `dest`
// takes. Blocks for as long as the copies take: call it from a blocking-capable thread.
Result<std::uint64_t> merge_layers(const std::vector<std::string>& layers, const std::string& dest);

}  // namespace cellblock::runtime::ns
