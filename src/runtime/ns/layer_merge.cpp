#include "runtime/ns/layer_merge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <cerrno>
#include <filesystem>

#include "common/unique_fd.h"
#include "runtime/ns/layer_copy.h"

namespace cellblock::runtime::ns {

namespace {

namespace fs = std::filesystem;

// The overlay is mounted with userxattr: its marks live in the user.* namespace.
constexpr const char* kOpaqueXattr = "user.overlay.opaque";

bool opaque(const fs::path& dir) {
  char value[2] = {};
  return ::lgetxattr(dir.c_str(), kOpaqueXattr, value, sizeof value) == 1 && value[0] == 'y';
}

Status remove_entry(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    return tl::unexpected(system_error("removing " + path.string() + " while merging layers", ec.value()));
  return {};
}

// Makes `target` (the layers below `layer`, merged) ready for cp to copy `layer` over it with overlayfs'
// meaning (layer_merge.h). Returns the directories to mark opaque once cp has copied them.
Result<std::vector<fs::path>> clear_for(const fs::path& layer, const fs::path& target) {
  std::vector<fs::path> to_mark;
  std::error_code ec;
  // Symbolic links are entries of the layer, never followed.
  fs::recursive_directory_iterator entry(layer, fs::directory_options::none, ec);
  for (; !ec && entry != fs::recursive_directory_iterator(); entry.increment(ec)) {
    const fs::path at = target / entry->path().lexically_relative(layer);
    struct stat below {};
    if (::lstat(at.c_str(), &below) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // nothing below to reconcile
      return tl::unexpected(system_error("reading " + at.string() + " while merging layers", errno));
    }
    const bool directory = entry->symlink_status(ec).type() == fs::file_type::directory;
    if (ec) break;
    if (!directory) {
      if (Status removed = remove_entry(at); !removed) return tl::unexpected(removed.error());
    } else if (opaque(entry->path())) {
      if (Status removed = remove_entry(at); !removed) return tl::unexpected(removed.error());
      entry.disable_recursion_pending();  // nothing of the target is left below it
    } else if (!S_ISDIR(below.st_mode)) {
      if (Status removed = remove_entry(at); !removed) return tl::unexpected(removed.error());
      to_mark.push_back(at);
    }
  }
  if (ec) return tl::unexpected(system_error("reading layer " + layer.string(), ec.value()));
  return to_mark;
}

Status apply_layer(const std::string& layer, const std::string& partial, const std::string& dest) {
  UniqueFd source(::open(layer.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!source.valid()) return tl::unexpected(system_error("opening layer " + layer, errno));
  auto to_mark = clear_for(layer, partial);
  if (!to_mark) return tl::unexpected(to_mark.error());
  if (Status copied = copy_tree_into(source.get(), partial, "merging layer " + layer + " into " + dest);
      !copied) {
    return copied;
  }
  for (const auto& dir : *to_mark) {
    if (::lsetxattr(dir.c_str(), kOpaqueXattr, "y", 1, 0) != 0) {
      return tl::unexpected(system_error("marking " + dir.string() +
                                             " opaque (the file system of merged "
                                             "layers must support user.* extended attributes)",
                                         errno));
    }
  }
  return {};
}

}  // namespace

Result<std::uint64_t> merge_layers(const std::vector<std::string>& layers, const std::string& dest) {
  const std::string partial = dest + ".partial";
  // What a merge interrupted by a server crash left behind; the first cp would merge into it.
  remove_layer_tree(partial);
  for (auto layer = layers.rbegin(); layer != layers.rend(); ++layer) {
    if (Status applied = apply_layer(*layer, partial, dest); !applied) {
      remove_layer_tree(partial);
      return tl::unexpected(applied.error());
    }
  }
  return publish_layer(partial, dest);
}

}  // namespace cellblock::runtime::ns
