#include "chat/request_body.h"

#include <variant>

#include "chat/fenced_code.h"
#include "chat/ui_message.h"

namespace cellblock::chat {

namespace json = boost::json;

namespace {

json::object text_block(std::string_view text) {
  return json::object{{"type", "text"}, {"text", text}};
}

json::object anthropic_image(std::string_view base64_png) {
  return json::object{
      {"type", "image"},
      {"source", json::object{{"type", "base64"}, {"media_type", "image/png"}, {"data", base64_png}}}};
}

// Anthropic wants strictly alternating roles starting with the user: consecutive messages of one role (a
// tool result followed by the next prompt) are merged into one content list.
void append_anthropic(json::array& messages, std::string_view role, json::array content) {
  if (content.empty()) return;
  if (!messages.empty()) {
    json::object& last = messages.back().as_object();
    if (last.at("role").as_string() == role) {
      json::array& existing = last.at("content").as_array();
      for (auto& block : content) existing.push_back(std::move(block));
      return;
    }
  }
  messages.push_back(json::object{{"role", role}, {"content", std::move(content)}});
}

json::array anthropic_messages(const ProviderSettings& provider, const std::vector<ModelMessage>& input) {
  json::array messages;
  for (const ModelMessage& message : input) {
    if (const auto* user = std::get_if<UserMessage>(&message)) {
      append_anthropic(messages, "user", json::array{text_block(user->text)});
    } else if (const auto* assistant = std::get_if<AssistantMessage>(&message)) {
      json::array content;
      if (!assistant->text.empty()) content.push_back(text_block(assistant->text));
      for (const ToolCall& call : assistant->tool_calls) {
        content.push_back(
            json::object{{"type", "tool_use"}, {"id", call.id}, {"name", call.name}, {"input", call.input}});
      }
      append_anthropic(messages, "assistant", std::move(content));
    } else {
      json::array content;
      for (const ToolResult& result : std::get<ToolResultsMessage>(message).results) {
        json::array blocks{text_block(result.text)};
        if (provider.images) {
          for (const auto& png : result.png_base64) blocks.push_back(anthropic_image(png));
        }
        content.push_back(json::object{{"type", "tool_result"},
                                       {"tool_use_id", result.tool_call_id},
                                       {"is_error", result.is_error},
                                       {"content", std::move(blocks)}});
      }
      append_anthropic(messages, "user", std::move(content));
    }
  }
  return messages;
}

void append_openai_results(const ProviderSettings& provider, const ToolResultsMessage& results,
                           json::array& messages) {
  json::array images;
  for (const ToolResult& result : results.results) {
    std::string content = result.is_error ? "Error (the code raised):\n" + result.text : result.text;
    messages.push_back(json::object{
        {"role", "tool"}, {"tool_call_id", result.tool_call_id}, {"content", std::move(content)}});
    if (!provider.images) continue;
    for (const auto& png : result.png_base64) {
      images.push_back(json::object{{"type", "image_url"},
                                    {"image_url", json::object{{"url", "data:image/png;base64," + png}}}});
    }
  }
  // Tool messages carry text only (§2.3): the figures follow as a user message the model can look at.
  if (!images.empty()) {
    json::array content{text_block("The figures the code above produced:")};
    for (auto& image : images) content.push_back(std::move(image));
    messages.push_back(json::object{{"role", "user"}, {"content", std::move(content)}});
  }
}

json::array openai_messages(const ProviderSettings& provider, const CompletionRequest& request) {
  json::array messages;
  if (!request.system.empty())
    messages.push_back(json::object{{"role", "system"}, {"content", request.system}});
  for (const ModelMessage& message : request.messages) {
    if (const auto* user = std::get_if<UserMessage>(&message)) {
      messages.push_back(json::object{{"role", "user"}, {"content", user->text}});
    } else if (const auto* assistant = std::get_if<AssistantMessage>(&message)) {
      json::object out{{"role", "assistant"}};
      if (assistant->text.empty()) {
        out["content"] = nullptr;
      } else {
        out["content"] = assistant->text;
      }
      if (!assistant->tool_calls.empty()) {
        json::array calls;
        for (const ToolCall& call : assistant->tool_calls) {
          calls.push_back(json::object{
              {"id", call.id},
              {"type", "function"},
              {"function", json::object{{"name", call.name}, {"arguments", json::serialize(call.input)}}}});
        }
        out["tool_calls"] = std::move(calls);
      }
      messages.push_back(std::move(out));
    } else {
      append_openai_results(provider, std::get<ToolResultsMessage>(message), messages);
    }
  }
  return messages;
}

}  // namespace

const json::object& run_code_schema() {
  static const json::object schema = [] {
    json::object properties{
        {"language", json::object{{"type", "string"},
                                  {"enum", json::array{"python"}},
                                  {"description", "The kernel to run the code in (only python for now)."}}},
        {"title",
         json::object{{"type", "string"}, {"description", "A short title for the cell (3-6 words)."}}},
        {"description",
         json::object{{"type", "string"}, {"description", "One sentence on what the code does."}}},
        {"code", json::object{{"type", "string"}, {"description", "The code to run."}}}};
    return json::object{
        {"type", "object"}, {"properties", std::move(properties)}, {"required", json::array{"code"}}};
  }();
  return schema;
}

const std::string& run_code_description() {
  static const std::string text =
      "Run code in the user's persistent Jupyter kernel (Python, with numpy, pandas, matplotlib and more) "
      "and "
      "return its stdout, stderr, results and error. Variables, imports and files persist between calls. "
      "Figures shown with plt.show() and DataFrames left as the last expression are displayed to the user.";
  return text;
}

json::object anthropic_body(const ProviderSettings& provider, const CompletionRequest& request) {
  if (!provider.native_tools) {
    json::object body{{"model", request.model},
                      {"max_tokens", provider.max_tokens},
                      {"stream", true},
                      {"system", request.system + fenced_code_instructions(request.allow_tools)},
                      {"messages", anthropic_messages(provider, without_tool_calls(request.messages))}};
    return body;
  }
  json::object tool{
      {"name", kRunCodeTool}, {"description", run_code_description()}, {"input_schema", run_code_schema()}};
  json::object body{{"model", request.model},
                    {"max_tokens", provider.max_tokens},
                    {"stream", true},
                    {"messages", anthropic_messages(provider, request.messages)},
                    {"tools", json::array{std::move(tool)}}};
  if (!request.system.empty()) body["system"] = request.system;
  if (request.allow_tools) {
    body["tool_choice"] = json::object{{"type", "auto"}, {"disable_parallel_tool_use", true}};
  } else {
    body["tool_choice"] = json::object{{"type", "none"}};
  }
  return body;
}

json::object openai_body(const ProviderSettings& provider, const CompletionRequest& request) {
  json::object body{{"model", request.model}, {"stream", true}};
  body[provider.max_tokens_field] = provider.max_tokens;
  if (provider.stream_options) body["stream_options"] = json::object{{"include_usage", true}};
  if (!provider.native_tools) {
    CompletionRequest plain = request;
    plain.system += fenced_code_instructions(request.allow_tools);
    plain.messages = without_tool_calls(request.messages);
    body["messages"] = openai_messages(provider, plain);
    return body;
  }
  json::object function{
      {"name", kRunCodeTool}, {"description", run_code_description()}, {"parameters", run_code_schema()}};
  body["messages"] = openai_messages(provider, request);
  body["tools"] = json::array{json::object{{"type", "function"}, {"function", std::move(function)}}};
  body["tool_choice"] = request.allow_tools ? "auto" : "none";
  if (provider.parallel_tool_calls_field && request.allow_tools) body["parallel_tool_calls"] = false;
  return body;
}

}  // namespace cellblock::chat
