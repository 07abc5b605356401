// cellblock: self-hosted, E2B-compatible sandboxes. `cellblock serve` runs the control plane, the sandbox
// proxy and the sandboxes; the other subcommands manage keys, templates and sandboxes.

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("cellblock"));
  CLI::App app{"cellblock: self-hosted E2B-compatible code interpreter sandboxes"};
  app.require_subcommand(1);
  cellblock::cli::add_serve_command(app);
  cellblock::cli::add_keys_command(app);
  cellblock::cli::add_template_command(app);
  cellblock::cli::add_sandbox_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
