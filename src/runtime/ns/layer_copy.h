#pragma once
// Saved writable layers: a sandbox's upper layer copied out of its quota tmpfs (NsRuntime::save_layer) so
// that later sandboxes start on it (SandboxSpec::layers, mounted as an overlay lower layer).
//
// The copy is coreutils' `cp -a`, which keeps everything overlayfs reads in a layer: numeric owners (the
// sandbox's shifted ids), modes, timestamps, hard links, symlinks, device nodes (a whiteout is a 0:0
// character device), fifos, sockets, holes, and extended attributes (user.overlay.opaque marks an opaque
// directory; security.capability). It must copy the extended attributes or fail: a layer that lost its opaque
// marks would quietly show files the sandbox had deleted.

#include <cstdint>
#include <string>

#include "common/error.h"

namespace cellblock::runtime::ns {

// Copies the directory open as `source_fd` to `dest`, which must not exist: into `<dest>.partial` first,
// flushed to disk and renamed into place once complete, removed otherwise. Returns the bytes the copy takes
// (allocated blocks, hard links once). Blocks for as long as the copy takes: call it from a blocking-capable
// thread.
Result<std::uint64_t> copy_layer(int source_fd, const std::string& dest);

// The steps copy_layer is made of, for the other writer of layers (layer_merge.h).
//
// Copies what the directory open as `source_fd` holds into `target` with cp, creating `target` if it is
// missing. Entries already in `target` stay unless the source has one of the same name, whose attributes
// then win (a directory keeps its other entries). `what` names the whole operation in the error.
Status copy_tree_into(int source_fd, const std::string& target, const std::string& what);
// Flushes `partial` to disk and renames it to `dest`, never replacing an existing `dest`; removes `partial`
// if either fails. Returns the bytes `dest` takes.
Result<std::uint64_t> publish_layer(const std::string& partial, const std::string& dest);
// Removes `path` and everything below it, if it exists; a failure is left for the caller's next step to
// report.
void remove_layer_tree(const std::string& path);

}  // namespace cellblock::runtime::ns
