#pragma once
// SandboxHandle <-> JSON text, for the sandbox store (re-attach after a server restart).

#include <string>
#include <string_view>

#include "common/error.h"
#include "runtime/runtime.h"

namespace cellblock::runtime {

std::string to_json(const SandboxHandle& handle);
Result<SandboxHandle> handle_from_json(std::string_view text);

}  // namespace cellblock::runtime
