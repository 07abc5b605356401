// `cellblock template build|ls`: root filesystems from recipes, cached by content hash.

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/paths.h"
#include "cli/template_build.h"
#include "common/disk_usage.h"
#include "template/template_cache.h"

namespace cellblock::cli {
namespace {

// The template.json of a built template directory, if it is one.
std::optional<templates::TemplateInfo> read_info(const std::filesystem::path& dir) {
  std::ifstream in(dir / templates::kTemplateJson);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  auto info = templates::parse_template_json(text.str(), dir);
  if (!info) return std::nullopt;
  return std::move(*info);
}

// The size recorded at build time; measured now for templates built before sizes were recorded.
std::uint64_t size_of(const templates::TemplateInfo& info) {
  return info.size_bytes != 0 ? info.size_bytes : disk_usage(info.rootfs);
}

}  // namespace

void add_template_command(CLI::App& app) {
  auto cache_dir = std::make_shared<std::string>(templates::kDefaultCacheDir);
  CLI::App* tmpl = app.add_subcommand("template", "build and list templates");
  tmpl->add_option("--cache", *cache_dir, "template cache directory")->capture_default_str();
  tmpl->require_subcommand(1);

  auto name = std::make_shared<std::string>("code-interpreter");
  CLI::App* build = tmpl->add_subcommand("build", "build a template (or find it cached)");
  build->add_option("name", *name, "template name (a directory under templates/)")->capture_default_str();
  build->callback([cache_dir, name]() {
    const std::string recipe = find_recipe_dir(*name);
    if (recipe.empty()) {
      fmt::print(stderr, "cellblock: no recipe for template '{}'\n", *name);
      std::exit(1);
    }
    auto info = build_template(*cache_dir, *name, recipe);
    if (!info) std::exit(1);
    fmt::print("template {} {}: {} ({})\n", info->name, info->cache_hit ? "is up to date" : "built",
               info->dir.string(), human_size(size_of(*info)));
    std::exit(0);
  });

  CLI::App* list = tmpl->add_subcommand("ls", "list built templates");
  list->callback([cache_dir]() {
    std::error_code ec;
    fmt::print("{:<40} {:>10}  {}\n", "TEMPLATE", "SIZE", "PATH");
    for (const auto& entry : std::filesystem::directory_iterator(*cache_dir, ec)) {
      auto info = read_info(entry.path());
      if (!info) continue;
      fmt::print("{:<40} {:>10}  {}\n", entry.path().filename().string(), human_size(size_of(*info)),
                 entry.path().string());
    }
    std::exit(0);
  });
}

}  // namespace cellblock::cli
