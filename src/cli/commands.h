#pragma once
// The `cellblock` subcommands. Each registers its options on a CLI11 subcommand and runs when chosen.

#include <CLI/CLI.hpp>

namespace cellblock::cli {

void add_serve_command(CLI::App& app);
void add_keys_command(CLI::App& app);
void add_template_command(CLI::App& app);
void add_sandbox_command(CLI::App& app);

}  // namespace cellblock::cli
