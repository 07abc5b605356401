#include "chat/ui_message_stream.h"

namespace cellblock::chat::ui {

namespace json = boost::json;

namespace {

json::object typed(std::string_view type) {
  json::object chunk;
  chunk["type"] = type;
  return chunk;
}

json::object simple(std::string_view type) {
  return typed(type);
}

json::object with_id(std::string_view type, std::string_view id) {
  json::object chunk = typed(type);
  chunk["id"] = id;
  return chunk;
}

json::object with_id_delta(std::string_view type, std::string_view id, std::string_view delta) {
  json::object chunk = typed(type);
  chunk["id"] = id;
  chunk["delta"] = delta;
  return chunk;
}

}  // namespace

std::string frame(const json::object& chunk) {
  std::string out = "data: ";
  out += json::serialize(chunk);
  out += "\n\n";
  return out;
}

json::object start(std::string_view message_id) {
  json::object chunk = typed("start");
  if (!message_id.empty()) chunk["messageId"] = message_id;
  return chunk;
}

json::object start_step() {
  return simple("start-step");
}
json::object finish_step() {
  return simple("finish-step");
}
json::object reset_step() {
  return simple("reset-step");
}

json::object text_start(std::string_view id) {
  return with_id("text-start", id);
}
json::object text_delta(std::string_view id, std::string_view delta) {
  return with_id_delta("text-delta", id, delta);
}
json::object text_end(std::string_view id) {
  return with_id("text-end", id);
}

json::object reasoning_start(std::string_view id) {
  return with_id("reasoning-start", id);
}
json::object reasoning_delta(std::string_view id, std::string_view delta) {
  return with_id_delta("reasoning-delta", id, delta);
}
json::object reasoning_end(std::string_view id) {
  return with_id("reasoning-end", id);
}

json::object tool_input_start(std::string_view tool_call_id, std::string_view tool_name) {
  json::object chunk = typed("tool-input-start");
  chunk["toolCallId"] = tool_call_id;
  chunk["toolName"] = tool_name;
  return chunk;
}

json::object tool_input_delta(std::string_view tool_call_id, std::string_view input_text_delta) {
  json::object chunk = typed("tool-input-delta");
  chunk["toolCallId"] = tool_call_id;
  chunk["inputTextDelta"] = input_text_delta;
  return chunk;
}

json::object tool_input_available(std::string_view tool_call_id, std::string_view tool_name,
                                  const json::value& input) {
  json::object chunk = typed("tool-input-available");
  chunk["toolCallId"] = tool_call_id;
  chunk["toolName"] = tool_name;
  chunk["input"] = input;
  return chunk;
}

json::object tool_input_error(std::string_view tool_call_id, std::string_view tool_name,
                              const json::value& input, std::string_view error_text) {
  json::object chunk = typed("tool-input-error");
  chunk["toolCallId"] = tool_call_id;
  chunk["toolName"] = tool_name;
  chunk["input"] = input;
  chunk["errorText"] = error_text;
  return chunk;
}

json::object tool_output_available(std::string_view tool_call_id, const json::value& output,
                                   bool preliminary) {
  json::object chunk = typed("tool-output-available");
  chunk["toolCallId"] = tool_call_id;
  if (preliminary) chunk["preliminary"] = true;
  chunk["output"] = output;
  return chunk;
}

json::object tool_output_error(std::string_view tool_call_id, std::string_view error_text) {
  json::object chunk = typed("tool-output-error");
  chunk["toolCallId"] = tool_call_id;
  chunk["errorText"] = error_text;
  return chunk;
}

json::object data_part(std::string_view name, std::string_view id, const json::value& data, bool transient) {
  json::object chunk = typed("data-" + std::string(name));
  if (!id.empty()) chunk["id"] = id;
  chunk["data"] = data;
  if (transient) chunk["transient"] = true;
  return chunk;
}

json::object message_metadata(const json::value& metadata) {
  json::object chunk = typed("message-metadata");
  chunk["messageMetadata"] = metadata;
  return chunk;
}

json::object error(std::string_view error_text) {
  json::object chunk = typed("error");
  chunk["errorText"] = error_text;
  return chunk;
}

json::object abort(std::string_view reason) {
  json::object chunk = typed("abort");
  if (!reason.empty()) chunk["reason"] = reason;
  return chunk;
}

json::object finish(std::string_view finish_reason) {
  json::object chunk = typed("finish");
  if (!finish_reason.empty()) chunk["finishReason"] = finish_reason;
  return chunk;
}

std::string done() {
  return "data: [DONE]\n\n";
}
std::string keep_alive() {
  return ": keep-alive\n\n";
}

}  // namespace cellblock::chat::ui
