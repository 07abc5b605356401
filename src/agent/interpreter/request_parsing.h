#pragma once
// Parses and validates the code interpreter's request bodies (e2b-api.md §7.2, §7.5) into typed requests, and
// builds the Python statements that apply per-execution environment variables.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cellblock::interpreter {

struct ExecuteRequest {
  std::string code;
  std::optional<std::string> context_id;
  std::string language = "python";  // normalised; meaningful only without context_id
  std::map<std::string, std::string> env_vars;
};

struct CreateContextRequest {
  std::string language = "python";
  std::string cwd;  // empty: the default working directory
};

Result<ExecuteRequest> parse_execute(std::string_view body);
Result<CreateContextRequest> parse_create_context(std::string_view body);

// Saves the current values of the variables' names, then sets them (Python, run silently before the cell).
std::string set_env_code(const std::map<std::string, std::string>& env_vars);
// Sets the sandbox-level environment in a kernel that started before it was known (a pooled sandbox).
std::string apply_env_code(const std::map<std::string, std::string>& env);
// Restores what set_env_code saved: the previous value, or no variable at all.
std::string restore_env_code();

}  // namespace cellblock::interpreter
