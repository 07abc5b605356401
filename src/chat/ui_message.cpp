#include "chat/ui_message.h"

#include <fmt/format.h>

#include "chat/execution_output.h"
#include "chat/stream_json.h"

namespace cellblock::chat {

namespace json = boost::json;

json::object* UiMessageBuilder::find_part(std::string_view key, std::string_view value) {
  for (auto it = parts_.rbegin(); it != parts_.rend(); ++it) {
    json::object& part = it->as_object();
    if (string_field(part, key) == value) return &part;
  }
  return nullptr;
}

void UiMessageBuilder::apply(const json::object& chunk) {
  std::string_view type = string_field(chunk, "type");
  // start, message-metadata and finish may carry metadata: later keys replace earlier ones.
  if (const json::value* sent = chunk.if_contains("messageMetadata"); sent && sent->is_object()) {
    for (const auto& [key, value] : sent->get_object()) sent_metadata_[key] = value;
  }
  if (type == "start-step") {
    parts_.push_back(json::object{{"type", "step-start"}});
  } else if (type == "reset-step") {
    // Drops the failed step with its marker; the retry starts a new one.
    while (!parts_.empty()) {
      bool marker = string_field(parts_.back().as_object(), "type") == "step-start";
      parts_.pop_back();
      if (marker) break;
    }
  } else if (type == "text-start" || type == "reasoning-start") {
    std::string_view part_type = type == "text-start" ? "text" : "reasoning";
    parts_.push_back(json::object{
        {"type", part_type}, {"id", string_field(chunk, "id")}, {"text", ""}, {"state", "streaming"}});
  } else if (type == "text-delta" || type == "reasoning-delta") {
    if (json::object* part = find_part("id", string_field(chunk, "id"))) {
      part->at("text").as_string().append(string_field(chunk, "delta"));
    }
  } else if (type == "text-end" || type == "reasoning-end") {
    if (json::object* part = find_part("id", string_field(chunk, "id"))) (*part)["state"] = "done";
  } else if (type == "tool-input-start") {
    parts_.push_back(json::object{{"type", "tool-" + std::string(string_field(chunk, "toolName"))},
                                  {"toolCallId", string_field(chunk, "toolCallId")},
                                  {"state", "input-streaming"},
                                  {"input", nullptr}});
  } else if (type.starts_with("tool-")) {
    json::object* part = find_part("toolCallId", string_field(chunk, "toolCallId"));
    if (part == nullptr && (type == "tool-input-available" || type == "tool-input-error")) {
      parts_.push_back(json::object{{"type", "tool-" + std::string(string_field(chunk, "toolName"))},
                                    {"toolCallId", string_field(chunk, "toolCallId")}});
      part = &parts_.back().as_object();
    }
    if (part == nullptr) return;
    if (type == "tool-input-available") {
      (*part)["state"] = "input-available";
      (*part)["input"] = chunk.at("input");
    } else if (type == "tool-input-error") {
      (*part)["state"] = "output-error";
      (*part)["input"] = chunk.at("input");
      (*part)["errorText"] = string_field(chunk, "errorText");
    } else if (type == "tool-output-available") {
      (*part)["state"] = "output-available";
      (*part)["output"] = chunk.at("output");
      if (chunk.contains("preliminary")) {
        (*part)["preliminary"] = true;
      } else {
        part->erase("preliminary");
      }
    } else if (type == "tool-output-error") {
      (*part)["state"] = "output-error";
      (*part)["errorText"] = string_field(chunk, "errorText");
    }
  } else if (type == "error") {
    error_ = string_field(chunk, "errorText");
  } else if (type == "finish") {
    finish_reason_ = string_field(chunk, "finishReason");
  }
}

json::object UiMessageBuilder::metadata() const {
  json::object metadata = sent_metadata_;
  if (!finish_reason_.empty()) metadata["finishReason"] = finish_reason_;
  if (!error_.empty()) metadata["error"] = error_;
  return metadata;
}

std::string user_text_from_parts(const json::array& parts) {
  std::string text;
  std::vector<std::string> files;
  for (const json::value& value : parts) {
    const json::object* part = value.if_object();
    if (part == nullptr) continue;
    std::string_view type = string_field(*part, "type");
    if (type == "text") {
      if (!text.empty()) text += "\n";
      text += string_field(*part, "text");
    } else if (type == "file") {
      std::string_view url = string_field(*part, "url");
      constexpr std::string_view kScheme = "sandbox://";
      if (!url.starts_with(kScheme)) continue;
      std::string_view media = string_field(*part, "mediaType");
      files.push_back(fmt::format("[The user uploaded the file {} ({}) into the sandbox.]",
                                  url.substr(kScheme.size()), media.empty() ? "unknown type" : media));
    }
  }
  for (const auto& note : files) {
    if (!text.empty()) text += "\n";
    text += note;
  }
  return text;
}

namespace {

// Walks an assistant message's parts step by step.
class AssistantSteps {
 public:
  explicit AssistantSteps(std::vector<ModelMessage>& out) : out_(out) {}

  void on_part(const json::object& part) {
    std::string_view type = string_field(part, "type");
    if (type == "step-start") {
      flush();
    } else if (type == "text") {
      // Text after a tool call belongs to the next step (messages stored without step markers).
      if (!step_.tool_calls.empty()) flush();
      step_.text += string_field(part, "text");
    } else if (type == kRunCodePart) {
      on_tool(part);
    }
  }

  void flush() {
    if (step_.text.empty() && step_.tool_calls.empty()) return;
    bool had_calls = !step_.tool_calls.empty();
    out_.push_back(std::move(step_));
    if (had_calls) out_.push_back(std::move(results_));
    step_ = {};
    results_ = {};
  }

 private:
  void on_tool(const json::object& part) {
    std::string_view state = string_field(part, "state");
    const json::object* input = object_field(part, "input");
    // A call whose arguments never became valid was not run; the model is not reminded of it.
    if (input == nullptr) return;
    std::string id(string_field(part, "toolCallId"));
    step_.tool_calls.push_back(ToolCall{id, std::string(kRunCodeTool), *input});
    const json::object* output = object_field(part, "output");
    if (state == "output-available" && output != nullptr && !part.contains("preliminary")) {
      results_.results.push_back(tool_result_from_output(id, *output, false));
    } else if (state == "output-error") {
      results_.results.push_back(ToolResult{id, true, std::string(string_field(part, "errorText")), {}});
    } else {
      results_.results.push_back(ToolResult{id, true, "the run was stopped before it finished", {}});
    }
  }

  std::vector<ModelMessage>& out_;
  AssistantMessage step_;
  ToolResultsMessage results_;
};

}  // namespace

std::vector<ModelMessage> model_messages_from_ui(const std::vector<json::object>& messages) {
  std::vector<ModelMessage> out;
  for (const json::object& message : messages) {
    std::string_view role = string_field(message, "role");
    const json::array* parts = array_field(message, "parts");
    if (parts == nullptr) continue;
    if (role == "user") {
      std::string text = user_text_from_parts(*parts);
      if (!text.empty()) out.push_back(UserMessage{std::move(text)});
    } else if (role == "assistant") {
      AssistantSteps steps(out);
      for (const json::value& part : *parts) {
        if (const json::object* object = part.if_object()) steps.on_part(*object);
      }
      steps.flush();
    }
  }
  return out;
}

}  // namespace cellblock::chat
