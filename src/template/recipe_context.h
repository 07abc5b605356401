#pragma once
// A recipe together with the files it may COPY: the Cellfile's directory first, then the repository root (the
// nearest parent directory holding .git), so a recipe can name both its own files and shared ones.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "template/cellfile.h"

namespace cellblock::templates {

inline constexpr std::string_view kCellfileName = "Cellfile";

struct RecipeContext {
  std::filesystem::path cellfile;    // absolute path of the Cellfile
  std::filesystem::path recipe_dir;  // its directory
  std::filesystem::path repo_dir;    // nearest parent with .git, or recipe_dir when there is none
  std::string text;                  // the Cellfile as read (hashed verbatim)
  Recipe recipe;
};

// `path` is a Cellfile or a directory holding one. Parse errors keep their line numbers.
Result<RecipeContext> load_recipe(const std::filesystem::path& path);

// The host path a COPY source names: relative to the recipe directory if it exists there, else to the
// repository.
Result<std::filesystem::path> resolve_copy_source(const RecipeContext& context, std::string_view source);

struct CopyEntry {
  enum class Kind { kFile, kDirectory, kSymlink };
  std::filesystem::path relative;  // destination-relative path; a single-file source gives its file name
  std::filesystem::path absolute;  // where it is on the host
  Kind kind = Kind::kFile;
  mode_t mode = 0;          // permission bits, including set-id and sticky bits
  std::string link_target;  // symlinks only
};

// What a COPY of `source` brings into the root, sorted by relative path. Python byte-code caches
// (__pycache__,
// *.pyc) are left out: they appear when tests run and must neither change the content hash nor enter the
// root. Sockets, FIFOs and device nodes are errors.
Result<std::vector<CopyEntry>> list_copy_entries(const std::filesystem::path& source);

}  // namespace cellblock::templates
