#pragma once
// The fallback for models that cannot call tools (many small local models): the model is asked to write one
// fenced Python block, which is then run as if it had called run_code, and the output comes back as a user
// message. llm-and-ui-stream.md §3.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/model_messages.h"

namespace cellblock::chat {

// Appended to the system prompt when the provider has no native tools; `may_run` is false on the last step.
std::string fenced_code_instructions(bool may_run);

// The code of the first ```python (or ```py / ```) block that is closed; nullopt when there is none.
std::optional<std::string> first_fenced_code(std::string_view text);

// The conversation with tool calls as fenced blocks in the assistant's text and their results as user
// messages, for a request that carries no tools.
std::vector<ModelMessage> without_tool_calls(const std::vector<ModelMessage>& messages);

}  // namespace cellblock::chat
