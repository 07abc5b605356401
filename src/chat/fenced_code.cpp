#include "chat/fenced_code.h"

#include <variant>

namespace cellblock::chat {

namespace {

constexpr std::string_view kFence = "```";

std::string fenced(std::string_view code) {
  std::string out = "```python\n";
  out += code;
  if (!code.empty() && code.back() != '\n') out += "\n";
  return out + "```";
}

}  // namespace

std::string fenced_code_instructions(bool may_run) {
  if (!may_run) {
    return "\n\nDo not write code now: answer the user in text, using the outputs you have seen.";
  }
  return "\n\nYou cannot call tools. To run code, end your reply with exactly one fenced block starting with "
         "```python; it runs in the kernel and its output comes back in the next message. Reply without a "
         "code "
         "block when you have the answer.";
}

std::optional<std::string> first_fenced_code(std::string_view text) {
  std::size_t at = 0;
  while ((at = text.find(kFence, at)) != std::string_view::npos) {
    // Only a fence at the start of a line opens a block.
    bool line_start = at == 0 || text[at - 1] == '\n';
    std::size_t info_end = text.find('\n', at);
    if (!line_start || info_end == std::string_view::npos) {
      at += kFence.size();
      continue;
    }
    std::string_view info = text.substr(at + kFence.size(), info_end - at - kFence.size());
    while (!info.empty() && (info.back() == ' ' || info.back() == '\r')) info.remove_suffix(1);
    std::size_t close = text.find("\n```", info_end);
    if (close == std::string_view::npos) return std::nullopt;
    if (info.empty() || info == "python" || info == "py" || info == "python3") {
      return std::string(text.substr(info_end + 1, close + 1 - (info_end + 1)));
    }
    at = close + 4;  // another language: skip its block
  }
  return std::nullopt;
}

std::vector<ModelMessage> without_tool_calls(const std::vector<ModelMessage>& messages) {
  std::vector<ModelMessage> out;
  for (const ModelMessage& message : messages) {
    if (const auto* assistant = std::get_if<AssistantMessage>(&message)) {
      AssistantMessage plain{assistant->text, {}};
      for (const ToolCall& call : assistant->tool_calls) {
        const boost::json::value* code = call.input.if_contains("code");
        std::string_view text =
            code != nullptr && code->is_string() ? std::string_view(code->get_string()) : "";
        // The block the model wrote is already in its text; calls made natively are written out.
        if (!text.empty() && plain.text.find(text) == std::string::npos) plain.text += "\n\n" + fenced(text);
      }
      if (!plain.text.empty()) out.emplace_back(std::move(plain));
    } else if (const auto* results = std::get_if<ToolResultsMessage>(&message)) {
      std::string text;
      for (const ToolResult& result : results->results) {
        if (!text.empty()) text += "\n\n";
        text += result.is_error ? "The code raised an error:\n" : "Output of the code:\n";
        text += result.text;
      }
      out.emplace_back(UserMessage{std::move(text)});
    } else {
      out.push_back(message);
    }
  }
  return out;
}

}  // namespace cellblock::chat
