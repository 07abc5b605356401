#include "cli/template_build.h"

#include <atomic>
#include <csignal>

#include "template/template_builder.h"
#include "template/template_cache.h"
#include "template/terminal_progress.h"

namespace cellblock::cli {
namespace {

std::atomic<bool> g_cancel{false};

extern "C" void request_cancel(int) { g_cancel.store(true); }

}  // namespace

Result<templates::TemplateInfo> build_template(const std::string& cache_dir, const std::string& name,
                                               const std::string& recipe_dir) {
  struct sigaction action {};
  struct sigaction old_int {};
  struct sigaction old_term {};
  action.sa_handler = request_cancel;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);

  templates::BuilderOptions options;
  options.cancel = &g_cancel;
  templates::TemplateCache cache(cache_dir, templates::TemplateBuilder(options).as_function());
  templates::TerminalProgress progress(stdout, false);
  auto info = cache.ensure(name, recipe_dir, progress.callback());
  progress.finish();
  if (!info) progress.print_failure(info.error());

  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return info;
}

}  // namespace cellblock::cli
