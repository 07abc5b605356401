// `cellblock template build|ls`: root filesystems from recipes, cached by content hash.

#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/paths.h"
#include "cli/template_build.h"
#include "template/template_cache.h"

namespace cellblock::cli {

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
    fmt::print("template {} {}: {}\n", info->name, info->cache_hit ? "is up to date" : "built",
               info->dir.string());
    std::exit(0);
  });

  CLI::App* list = tmpl->add_subcommand("ls", "list built templates");
  list->callback([cache_dir]() {
    std::error_code ec;
    fmt::print("{:<40} {}\n", "TEMPLATE", "PATH");
    for (const auto& entry : std::filesystem::directory_iterator(*cache_dir, ec)) {
      if (!std::filesystem::exists(entry.path() / templates::kTemplateJson)) continue;
      fmt::print("{:<40} {}\n", entry.path().filename().string(), entry.path().string());
    }
    std::exit(0);
  });
}

}  // namespace cellblock::cli
