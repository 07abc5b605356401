// cellblock-template-build: builds (or finds cached) a template from a recipe directory, with a progress bar.
// A stand-in until `cellblock template build` exists; both use TemplateCache and TerminalProgress.

#include <csignal>
#include <cstdio>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "template/template_cache.h"
#include "template/terminal_progress.h"

namespace {

std::atomic<bool> g_cancel{false};

extern "C" void on_signal(int) {
  g_cancel.store(true);
}

std::string format_duration(double seconds) {
  const auto total = static_cast<long>(seconds);
  return total >= 60 ? fmt::format("{}m{:02}s", total / 60, total % 60) : fmt::format("{:.1f}s", seconds);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cellblock::templates;
  CLI::App app{"Build a cellblock template root filesystem from a recipe (a Cellfile)"};
  std::string recipe;
  std::string cache_dir(kDefaultCacheDir);
  std::string name;
  bool verbose = false;
  app.add_option("--recipe", recipe, "recipe directory (holding a Cellfile) or Cellfile path")->required();
  app.add_option("--cache", cache_dir, "template cache directory")->capture_default_str();
  app.add_option("--name", name, "template name, e.g. code-interpreter")->required();
  app.add_flag("--verbose", verbose, "print every build log line (when the output is not a terminal)");
  CLI11_PARSE(app, argc, argv);

  // Let the builder stop mmdebstrap and remove the half-built tree instead of dying mid-build.
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  BuilderOptions options;
  options.cancel = &g_cancel;
  TemplateCache cache(cache_dir, TemplateBuilder(options).as_function());
  TerminalProgress progress(stdout, verbose);
  auto info = cache.ensure(name, recipe, progress.callback());
  progress.finish();
  if (!info) {
    progress.print_failure(info.error());
    return 1;
  }
  if (info->cache_hit) {
    fmt::print("template {} is up to date: {}\n", info->name, info->dir.string());
  } else {
    fmt::print("template {} built in {}: {}\n", info->name, format_duration(info->build_seconds),
               info->dir.string());
  }
  return 0;
}
