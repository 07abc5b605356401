#pragma once
// Runs a build tool (mmdebstrap) and hands its merged stdout and stderr to a callback line by line. '\r' also
// ends a line, so apt's in-place progress output arrives as separate lines.

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cellblock::templates {

struct CommandOptions {
  std::vector<std::string> extra_env;  // "K=V", added to (or replacing in) the inherited environment
  // When it turns true, the child's process group gets SIGTERM and the result is kCanceled. The child runs in
  // a process group of its own, so a terminal's Ctrl-C reaches only the caller, which decides (via `cancel`).
  const std::atomic<bool>* cancel = nullptr;
};

// Returns the exit status (128 + signal number when the child was killed by a signal). A command that cannot
// be started gives kNotFound.
Result<int> run_command(const std::vector<std::string>& argv,
                        const std::function<void(std::string_view)>& on_line,
                        const CommandOptions& options = {});

}  // namespace cellblock::templates
