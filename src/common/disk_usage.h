#pragma once
// How much disk a directory tree takes, as `du -s` counts it: allocated blocks, each hard-linked file once,
// symlinks not followed. Reported for templates (`cellblock template build` and `ls`) and saved layers.

#include <cstdint>
#include <filesystem>
#include <string>

namespace cellblock {

// Bytes allocated below `dir` (0 when it cannot be read). Unreadable entries are skipped.
std::uint64_t disk_usage(const std::filesystem::path& dir);

// "812.0 KiB", "1.8 GiB": one decimal, binary units.
std::string human_size(std::uint64_t bytes);

}  // namespace cellblock
