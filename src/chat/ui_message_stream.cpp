#include "chat/ui_message_stream.h"

namespace cellblock::chat::ui {

namespace json = boost::json;

namespace {

json::object typed(std::string_view type) {
  json::object chunk;
  chunk["type"] = type;
  return chunk;
}

std::string simple(std::string_view type) {
  return frame(typed(type));
}

std::string with_id(std::string_view type, std::string_view id) {
  json::object chunk = typed(type);
  chunk["id"] = id;
  return frame(chunk);
}

std::string with_id_delta(std::string_view type, std::string_view id, std::string_view delta) {
  json::object chunk = typed(type);
  chunk["id"] = id;
  chunk["delta"] = delta;
  return frame(chunk);
}

}  // namespace

std::string frame(const json::object& chunk) {
  std::string out = "data: ";
  out += json::serialize(chunk);
  out += "\n\n";
  return out;
}

std::string start(std::string_view message_id) {
  json::object chunk = typed("start");
  if (!message_id.empty()) chunk["messageId"] = message_id;
  return frame(chunk);
}

std::string start_step() {
  return simple("start-step");
}
std::string finish_step() {
  return simple("finish-step");
}
std::string reset_step() {
  return simple("reset-step");
}

std::string text_start(std::string_view id) {
  return with_id("text-start", id);
}
std::string text_delta(std::string_view id, std::string_view delta) {
  return with_id_delta("text-delta", id, delta);
}
std::string text_end(std::string_view id) {
  return with_id("text-end", id);
}

std::string reasoning_start(std::string_view id) {
  return with_id("reasoning-start", id);
}
std::string reasoning_delta(std::string_view id, std::string_view delta) {
  return with_id_delta("reasoning-delta", id, delta);
}
std::string reasoning_end(std::string_view id) {
  return with_id("reasoning-end", id);
}

std::string tool_input_start(std::string_view tool_call_id, std::string_view tool_name) {
  json::object chunk = typed("tool-input-start");
  chunk["toolCallId"] = tool_call_id;
  chunk["toolName"] = tool_name;
  return frame(chunk);
}

std::string tool_input_delta(std::string_view tool_call_id, std::string_view input_text_delta) {
  json::object chunk = typed("tool-input-delta");
  chunk["toolCallId"] = tool_call_id;
  chunk["inputTextDelta"] = input_text_delta;
  return frame(chunk);
}

std::string tool_input_available(std::string_view tool_call_id, std::string_view tool_name,
                                 const json::value& input) {
  json::object chunk = typed("tool-input-available");
  chunk["toolCallId"] = tool_call_id;
  chunk["toolName"] = tool_name;
  chunk["input"] = input;
  return frame(chunk);
}

std::string tool_input_error(std::string_view tool_call_id, std::string_view tool_name,
                             const json::value& input, std::string_view error_text) {
  json::object chunk = typed("tool-input-error");
  chunk["toolCallId"] = tool_call_id;
  chunk["toolName"] = tool_name;
  chunk["input"] = input;
  chunk["errorText"] = error_text;
  return frame(chunk);
}

std::string tool_output_available(std::string_view tool_call_id, const json::value& output,
                                  bool preliminary) {
  json::object chunk = typed("tool-output-available");
  chunk["toolCallId"] = tool_call_id;
  if (preliminary) chunk["preliminary"] = true;
  chunk["output"] = output;
  return frame(chunk);
}

std::string tool_output_error(std::string_view tool_call_id, std::string_view error_text) {
  json::object chunk = typed("tool-output-error");
  chunk["toolCallId"] = tool_call_id;
  chunk["errorText"] = error_text;
  return frame(chunk);
}

std::string data_part(std::string_view name, std::string_view id, const json::value& data, bool transient) {
  json::object chunk = typed("data-" + std::string(name));
  if (!id.empty()) chunk["id"] = id;
  chunk["data"] = data;
  if (transient) chunk["transient"] = true;
  return frame(chunk);
}

std::string message_metadata(const json::value& metadata) {
  json::object chunk = typed("message-metadata");
  chunk["messageMetadata"] = metadata;
  return frame(chunk);
}

std::string error(std::string_view error_text) {
  json::object chunk = typed("error");
  chunk["errorText"] = error_text;
  return frame(chunk);
}

std::string abort(std::string_view reason) {
  json::object chunk = typed("abort");
  if (!reason.empty()) chunk["reason"] = reason;
  return frame(chunk);
}

std::string finish(std::string_view finish_reason) {
  json::object chunk = typed("finish");
  if (!finish_reason.empty()) chunk["finishReason"] = finish_reason;
  return frame(chunk);
}

std::string done() {
  return "data: [DONE]\n\n";
}
std::string keep_alive() {
  return ": keep-alive\n\n";
}

}  // namespace cellblock::chat::ui
