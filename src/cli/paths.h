#pragma once
// Where the server finds its parts: the agent binary, the kernel start-up module, the default template
// recipe, the seccomp policy. Next to an installed binary first, then the source tree of a development build.

#include <string>

namespace cellblock::cli {

std::string default_state_dir();
std::string find_agent_binary();
std::string find_kernel_pythonpath();
std::string find_recipe_dir(const std::string& template_name);
std::string find_seccomp_policy();

}  // namespace cellblock::cli
