#include "chat/anthropic_stream.h"

#include "chat/stream_json.h"

namespace cellblock::chat {

namespace json = boost::json;

FinishReason anthropic_finish_reason(std::string_view stop_reason) {
  if (stop_reason == "end_turn" || stop_reason == "stop_sequence") return FinishReason::kStop;
  if (stop_reason == "tool_use") return FinishReason::kToolCalls;
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded")
    return FinishReason::kLength;
  return FinishReason::kOther;  // pause_turn, refusal, and anything newer
}

void AnthropicStream::feed(std::string_view bytes, std::vector<ProviderEvent>& out) {
  if (done_) return;
  pending_.clear();
  Status status = sse_.feed(bytes, pending_);
  // Events completed before an overflow are still delivered, in order.
  for (const SseEvent& event : pending_) {
    if (done_) break;
    on_event(event, out);
  }
  if (!status && !done_) emit_error(out, kStreamTooLarge, status.error().message);
}

void AnthropicStream::end_of_body(std::vector<ProviderEvent>& out) {
  if (!done_) emit_error(out, kIncompleteStream, "the Anthropic stream ended before message_stop");
}

void AnthropicStream::emit_error(std::vector<ProviderEvent>& out, std::string_view code,
                                 std::string message) {
  StreamError error;
  error.code = code;
  error.message = std::move(message);
  out.emplace_back(std::move(error));
  done_ = true;
}

void AnthropicStream::on_event(const SseEvent& event, std::vector<ProviderEvent>& out) {
  Result<json::object> parsed = parse_data_object(event.data);
  if (!parsed) {
    emit_error(out, kInvalidJson, "Anthropic '" + event.event + "' event: " + parsed.error().message);
    return;
  }
  const json::object& data = *parsed;
  // data.type equals the event name; prefer it so a proxy that drops `event:` lines still works.
  std::string_view type = string_field(data, "type");
  if (type.empty()) type = event.event;
  if (type == "message_start") {
    if (const json::object* message = object_field(data, "message")) {
      if (const json::object* usage = object_field(*message, "usage")) {
        finish_.usage.input_tokens = int_field(*usage, "input_tokens");
        finish_.usage.output_tokens = int_field(*usage, "output_tokens");
      }
    }
  } else if (type == "content_block_start") {
    on_block_start(data, out);
  } else if (type == "content_block_delta") {
    on_block_delta(data, out);
  } else if (type == "content_block_stop") {
    on_block_stop(data, out);
  } else if (type == "message_delta") {
    on_message_delta(data);
  } else if (type == "message_stop") {
    out.emplace_back(finish_);
    done_ = true;
  } else if (type == "error") {
    on_error(data, out);
  }
  // ping and unknown future events are ignored.
}

void AnthropicStream::on_block_start(const json::object& data, std::vector<ProviderEvent>& out) {
  std::int64_t index = int_field(data, "index").value_or(-1);
  const json::object* block = object_field(data, "content_block");
  if (block == nullptr) return;
  Block& state = blocks_[index];
  state = Block{};
  std::string_view block_type = string_field(*block, "type");
  if (block_type == "tool_use") {
    state.is_tool = true;
    state.id = string_field(*block, "id");
    state.name = string_field(*block, "name");
    out.emplace_back(ToolCallStart{state.id, state.name});
  } else if (block_type == "text") {
    // The opening text is normally "", but emit it if a server puts text there.
    std::string_view text = string_field(*block, "text");
    if (!text.empty()) out.emplace_back(TextDelta{std::string(text)});
  }
  // thinking, redacted_thinking, server_tool_use and *_tool_result blocks are tolerated and ignored.
}

void AnthropicStream::on_block_delta(const json::object& data, std::vector<ProviderEvent>& out) {
  std::int64_t index = int_field(data, "index").value_or(-1);
  const json::object* delta = object_field(data, "delta");
  if (delta == nullptr) return;
  std::string_view delta_type = string_field(*delta, "type");
  if (delta_type == "text_delta") {
    std::string_view text = string_field(*delta, "text");
    if (!text.empty()) out.emplace_back(TextDelta{std::string(text)});
  } else if (delta_type == "input_json_delta") {
    auto it = blocks_.find(index);
    if (it == blocks_.end() || !it->second.is_tool) return;
    std::string_view fragment = string_field(*delta, "partial_json");
    if (fragment.empty()) return;  // the first fragment is often empty; it adds nothing
    it->second.json.append(fragment);
    out.emplace_back(ToolCallInputDelta{it->second.id, std::string(fragment)});
  }
  // thinking_delta, signature_delta and citations_delta are tolerated and ignored.
}

void AnthropicStream::on_block_stop(const json::object& data, std::vector<ProviderEvent>& out) {
  auto it = blocks_.find(int_field(data, "index").value_or(-1));
  if (it == blocks_.end()) return;
  Block block = std::move(it->second);
  blocks_.erase(it);
  if (!block.is_tool) return;
  auto result = parse_tool_input(std::move(block.id), std::move(block.name), std::move(block.json));
  std::visit([&out](auto&& event) { out.emplace_back(std::move(event)); }, std::move(result));
}

void AnthropicStream::on_message_delta(const json::object& data) {
  if (const json::object* delta = object_field(data, "delta")) {
    std::string_view reason = string_field(*delta, "stop_reason");
    if (!reason.empty()) {
      finish_.raw_reason = reason;
      finish_.reason = anthropic_finish_reason(reason);
    }
  }
  if (const json::object* usage = object_field(data, "usage")) {
    // output_tokens is cumulative, so the latest value replaces the earlier one.
    if (auto output = int_field(*usage, "output_tokens")) finish_.usage.output_tokens = output;
    if (auto input = int_field(*usage, "input_tokens")) finish_.usage.input_tokens = input;
  }
}

void AnthropicStream::on_error(const json::object& data, std::vector<ProviderEvent>& out) {
  std::string code = "api_error";
  std::string message = "the Anthropic stream reported an error";
  if (const json::object* error = object_field(data, "error")) {
    if (auto type = string_field(*error, "type"); !type.empty()) code = type;
    if (auto text = string_field(*error, "message"); !text.empty()) message = text;
  }
  emit_error(out, code, std::move(message));
}

}  // namespace cellblock::chat
