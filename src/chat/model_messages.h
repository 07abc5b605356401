#pragma once
// A provider-neutral conversation: what the request builders turn into an Anthropic or OpenAI request. Built
// from the stored UI messages (history.h) plus the current turn's steps.

#include <string>
#include <variant>
#include <vector>

#include <boost/json.hpp>

namespace cellblock::chat {

struct ToolCall {
  std::string id;
  std::string name;
  boost::json::object input;
};

// What one tool call produced, as the model is shown it.
struct ToolResult {
  std::string tool_call_id;
  bool is_error = false;
  std::string text;
  std::vector<std::string> png_base64;  // images the model may look at (current turn only)
};

struct UserMessage {
  std::string text;
};

// One model step: its text, then the tools it called (in that order).
struct AssistantMessage {
  std::string text;
  std::vector<ToolCall> tool_calls;
};

// The answers to every call of the preceding assistant step.
struct ToolResultsMessage {
  std::vector<ToolResult> results;
};

using ModelMessage = std::variant<UserMessage, AssistantMessage, ToolResultsMessage>;

}  // namespace cellblock::chat
