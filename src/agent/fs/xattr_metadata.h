#pragma once
// E2B file metadata (envd ≥ 0.6.2): X-Metadata-<key> upload headers stored as `user.e2b.<key>` extended
// attributes, returned as EntryInfo.metadata. Metadata survives rename because xattrs belong to the inode.

#include <map>
#include <string>

#include "common/error.h"

namespace cellblock::agent {

using FileMetadata = std::map<std::string, std::string>;

inline constexpr std::string_view kMetadataXattrPrefix = "user.e2b.";

// The user.e2b.* attributes of `path` (not following a final symlink), prefix stripped. A filesystem or file
// type without user xattrs (ENOTSUP, EPERM on symlinks) gives an empty map.
Result<FileMetadata> read_metadata(const std::string& path);

// Replaces all user.e2b.* attributes with `metadata` (keys lowercased). Keys and values must be printable
// ASCII, keys non-empty → else kInvalidArgument. A filesystem without xattrs is an error only when `metadata`
// is non-empty.
Status set_metadata(const std::string& path, const FileMetadata& metadata);

// Validation alone (for rejecting a bad upload before writing the file).
Status validate_metadata(const FileMetadata& metadata);

}  // namespace cellblock::agent
