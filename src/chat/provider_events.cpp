#include "chat/provider_events.h"

#include <algorithm>

namespace cellblock::chat {

std::string_view ui_finish_reason(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop:
      return "stop";
    case FinishReason::kToolCalls:
      return "tool-calls";
    case FinishReason::kLength:
      return "length";
    case FinishReason::kOther:
      break;
  }
  return "other";
}

std::variant<ToolCallEnd, StreamError> parse_tool_input(std::string id, std::string name, std::string raw) {
  bool blank = std::all_of(raw.begin(), raw.end(),
                           [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; });
  if (blank) return ToolCallEnd{std::move(id), std::move(name), {}};
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(raw, ec);
  std::string problem;
  if (ec) {
    problem = "invalid JSON (" + ec.message() + ")";
  } else if (!value.is_object()) {
    problem = "JSON that is not an object";
  } else {
    return ToolCallEnd{std::move(id), std::move(name), std::move(value.as_object())};
  }
  StreamError error;
  error.code = kInvalidToolInput;
  error.message = "the input of tool '" + name + "' (call " + id + ") is " + problem;
  error.tool_call_id = std::move(id);
  error.tool_name = std::move(name);
  error.raw_input = std::move(raw);
  return error;
}

}  // namespace cellblock::chat
