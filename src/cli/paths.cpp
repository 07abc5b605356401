#include "cli/paths.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace cellblock::cli {
namespace {

namespace fs = std::filesystem;

fs::path exe_dir() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).parent_path();
}

std::string first_existing(std::initializer_list<fs::path> candidates) {
  std::error_code ec;
  for (const auto& path : candidates) {
    if (fs::exists(path, ec)) return fs::weakly_canonical(path, ec).string();
  }
  return {};
}

}  // namespace

std::string default_state_dir() {
  if (const char* dir = std::getenv("CELLBLOCK_STATE_DIR"); dir && *dir) return dir;
  if (::geteuid() == 0) return "/var/lib/cellblock";
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && *state)
    return std::string(state) + "/cellblock";
  if (const char* home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.local/state/cellblock";
  return ".cellblock";
}

std::string find_agent_binary() {
  return first_existing({exe_dir() / "cellblock-agent", exe_dir() / ".." / "agent" / "cellblock-agent"});
}

std::string find_kernel_pythonpath() {
  return first_existing({exe_dir() / ".." / "share" / "cellblock" / "python",
                         fs::path(CELLBLOCK_SOURCE_DIR) / "templates" / "code-interpreter" / "python"});
}

std::string find_recipe_dir(const std::string& template_name) {
  return first_existing({exe_dir() / ".." / "share" / "cellblock" / "templates" / template_name,
                         fs::path(CELLBLOCK_SOURCE_DIR) / "templates" / template_name});
}

std::string find_seccomp_policy() {
  return first_existing({exe_dir() / ".." / "share" / "cellblock" / "policies" / "seccomp-default.json",
                         fs::path(CELLBLOCK_SOURCE_DIR) / "policies" / "seccomp-default.json"});
}

}  // namespace cellblock::cli
