#include "chat/openai_stream.h"

#include "chat/stream_json.h"

namespace cellblock::chat {

namespace json = boost::json;

FinishReason openai_finish_reason(std::string_view finish_reason) {
  if (finish_reason == "stop") return FinishReason::kStop;
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return FinishReason::kToolCalls;
  if (finish_reason == "length") return FinishReason::kLength;
  return FinishReason::kOther;  // content_filter and anything newer
}

void OpenAiStream::feed(std::string_view bytes, std::vector<ProviderEvent>& out) {
  if (done_) return;
  pending_.clear();
  Status status = sse_.feed(bytes, pending_);
  for (const SseEvent& event : pending_) {
    if (done_) break;
    if (event.data == "[DONE]") {
      finish(out);
      break;
    }
    Result<json::object> chunk = parse_data_object(event.data);
    if (!chunk) {
      emit_error(out, kInvalidJson, "OpenAI stream: " + chunk.error().message);
      break;
    }
    on_chunk(*chunk, out);
  }
  if (!status && !done_) emit_error(out, kStreamTooLarge, status.error().message);
}

void OpenAiStream::end_of_body(std::vector<ProviderEvent>& out) {
  if (done_) return;
  if (saw_finish_reason_) {
    finish(out);
  } else {
    emit_error(out, kIncompleteStream, "the OpenAI stream ended before finish_reason and [DONE]");
  }
}

void OpenAiStream::emit_error(std::vector<ProviderEvent>& out, std::string_view code, std::string message) {
  StreamError error;
  error.code = code;
  error.message = std::move(message);
  out.emplace_back(std::move(error));
  done_ = true;
}

void OpenAiStream::on_chunk(const json::object& chunk, std::vector<ProviderEvent>& out) {
  // There is no official in-band error event, but compatible servers (and OpenAI on a broken stream) send
  // one.
  if (const json::value* error = chunk.if_contains("error")) {
    std::string code = "api_error";
    std::string message = "the OpenAI-compatible stream reported an error";
    if (const json::object* object = error->if_object()) {
      if (auto type = string_field(*object, "type"); !type.empty()) code = type;
      if (auto text = string_field(*object, "code"); !text.empty()) code = text;
      if (auto text = string_field(*object, "message"); !text.empty()) message = text;
    } else if (error->is_string()) {
      message = error->get_string();
    }
    emit_error(out, code, std::move(message));
    return;
  }
  if (const json::object* usage = object_field(chunk, "usage")) {
    finish_.usage.input_tokens = int_field(*usage, "prompt_tokens");
    finish_.usage.output_tokens = int_field(*usage, "completion_tokens");
  }
  const json::array* choices = array_field(chunk, "choices");
  if (choices == nullptr || choices->empty() || !(*choices)[0].is_object()) return;
  const json::object& choice = (*choices)[0].get_object();
  if (const json::object* delta = object_field(choice, "delta")) {
    std::string_view text = string_field(*delta, "content");
    if (!text.empty()) out.emplace_back(TextDelta{std::string(text)});
    if (const json::array* fragments = array_field(*delta, "tool_calls")) {
      for (const json::value& fragment : *fragments) {
        if (const json::object* object = fragment.if_object()) on_tool_fragment(*object, out);
      }
    }
    // delta.reasoning_content (some servers) is tolerated and ignored.
  }
  std::string_view reason = string_field(choice, "finish_reason");
  if (!reason.empty()) {
    saw_finish_reason_ = true;
    finish_.raw_reason = reason;
    finish_.reason = openai_finish_reason(reason);
    end_tool_calls(out);
  }
}

void OpenAiStream::on_tool_fragment(const json::object& fragment, std::vector<ProviderEvent>& out) {
  std::int64_t index = int_field(fragment, "index").value_or(0);
  Call& call = calls_[index];
  had_tool_calls_ = true;
  if (auto id = string_field(fragment, "id"); !id.empty() && !call.started) call.id = id;
  std::string_view arguments;
  if (const json::object* function = object_field(fragment, "function")) {
    if (auto name = string_field(*function, "name"); !name.empty() && call.name.empty()) call.name = name;
    arguments = string_field(*function, "arguments");
  }
  call.arguments.append(arguments);
  if (call.started) {
    if (!arguments.empty()) out.emplace_back(ToolCallInputDelta{call.id, std::string(arguments)});
    return;
  }
  // Announce the call once its name is known; some servers omit the id, so make a stable one up.
  if (call.name.empty()) return;
  if (call.id.empty()) call.id = "call_" + std::to_string(index);
  call.started = true;
  out.emplace_back(ToolCallStart{call.id, call.name});
  if (!call.arguments.empty()) out.emplace_back(ToolCallInputDelta{call.id, call.arguments});
}

void OpenAiStream::end_tool_calls(std::vector<ProviderEvent>& out) {
  for (auto& [index, call] : calls_) {
    if (!call.started) {
      StreamError error;
      error.code = kInvalidToolInput;
      error.message = "tool call #" + std::to_string(index) + " never received a function name";
      error.tool_call_id = call.id;
      error.raw_input = call.arguments;
      out.emplace_back(std::move(error));
      continue;
    }
    auto result = parse_tool_input(std::move(call.id), std::move(call.name), std::move(call.arguments));
    std::visit([&out](auto&& event) { out.emplace_back(std::move(event)); }, std::move(result));
  }
  calls_.clear();
}

void OpenAiStream::finish(std::vector<ProviderEvent>& out) {
  end_tool_calls(out);
  // Some compatible servers report "stop" after tool calls; the step is a tool step all the same.
  if (had_tool_calls_) finish_.reason = FinishReason::kToolCalls;
  out.emplace_back(finish_);
  done_ = true;
}

}  // namespace cellblock::chat
