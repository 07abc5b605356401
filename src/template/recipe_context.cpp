#include "template/recipe_context.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace cellblock::templates {
namespace {

std::filesystem::path find_repo_dir(const std::filesystem::path& start) {
  std::error_code ec;
  for (auto dir = start; !dir.empty(); dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / ".git", ec)) return dir;
    if (dir == dir.root_path()) break;
  }
  return start;
}

bool is_bytecode_cache(const std::filesystem::path& path) {
  return path.filename() == "__pycache__" || path.extension() == ".pyc";
}

Result<CopyEntry> describe(const std::filesystem::path& absolute, std::filesystem::path relative) {
  struct stat st {};
  if (::lstat(absolute.c_str(), &st) != 0)
    return tl::unexpected(system_error("lstat " + absolute.string(), errno));
  CopyEntry entry{std::move(relative), absolute, CopyEntry::Kind::kFile, st.st_mode & 07777, {}};
  if (S_ISDIR(st.st_mode)) {
    entry.kind = CopyEntry::Kind::kDirectory;
  } else if (S_ISLNK(st.st_mode)) {
    entry.kind = CopyEntry::Kind::kSymlink;
    std::error_code ec;
    entry.link_target = std::filesystem::read_symlink(absolute, ec).string();
    if (ec) return tl::unexpected(system_error("readlink " + absolute.string(), ec.value()));
  } else if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("COPY source {} is not a file, directory or symlink", absolute.string()));
  }
  return entry;
}

}  // namespace

Result<RecipeContext> load_recipe(const std::filesystem::path& path) {
  std::error_code ec;
  auto cellfile = std::filesystem::absolute(path, ec);
  if (ec) return tl::unexpected(system_error("resolve " + path.string(), ec.value()));
  if (std::filesystem::is_directory(cellfile, ec)) cellfile /= kCellfileName;
  std::ifstream in(cellfile, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, fmt::format("cannot read recipe {}", cellfile.string()));
  std::ostringstream text;
  text << in.rdbuf();

  RecipeContext context;
  context.cellfile = cellfile.lexically_normal();
  context.recipe_dir = context.cellfile.parent_path();
  context.repo_dir = find_repo_dir(context.recipe_dir);
  context.text = text.str();
  auto recipe = parse_cellfile(context.text);
  if (!recipe) {
    return fail(recipe.error().code,
                fmt::format("{}: {}", context.cellfile.string(), recipe.error().message));
  }
  context.recipe = std::move(*recipe);
  return context;
}

Result<std::filesystem::path> resolve_copy_source(const RecipeContext& context, std::string_view source) {
  std::error_code ec;
  for (const auto& base : {context.recipe_dir, context.repo_dir}) {
    const auto candidate = (base / std::filesystem::path(source)).lexically_normal();
    if (std::filesystem::symlink_status(candidate, ec).type() != std::filesystem::file_type::not_found &&
        !ec) {
      return candidate;
    }
  }
  return fail(ErrorCode::kNotFound, fmt::format("COPY source '{}' exists neither in {} nor in {}", source,
                                                context.recipe_dir.string(), context.repo_dir.string()));
}

Result<std::vector<CopyEntry>> list_copy_entries(const std::filesystem::path& source) {
  auto root = describe(source, source.filename());
  if (!root) return tl::unexpected(root.error());
  if (root->kind != CopyEntry::Kind::kDirectory) return std::vector<CopyEntry>{std::move(*root)};

  std::vector<CopyEntry> entries;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(source, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (is_bytecode_cache(it->path())) {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    auto entry = describe(it->path(), it->path().lexically_relative(source));
    if (!entry) return tl::unexpected(entry.error());
    entries.push_back(std::move(*entry));
  }
  if (ec) return tl::unexpected(system_error("list " + source.string(), ec.value()));
  std::sort(entries.begin(), entries.end(),
            [](const CopyEntry& a, const CopyEntry& b) { return a.relative < b.relative; });
  return entries;
}

}  // namespace cellblock::templates
