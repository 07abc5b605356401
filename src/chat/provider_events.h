#pragma once
// The normalized events that both provider stream adapters (Anthropic Messages, OpenAI Chat Completions)
// produce, so the tool loop and the UI stream writer never see a provider's wire format.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <boost/json.hpp>

namespace cellblock::chat {

struct TextDelta {
  std::string text;
};

struct ToolCallStart {
  std::string id;
  std::string name;
};

// Raw argument text; the concatenation of all fragments of one call is its JSON input.
struct ToolCallInputDelta {
  std::string id;
  std::string json_fragment;
};

// The arguments are complete and parsed. (Invalid arguments give a StreamError with code kInvalidToolInput.)
struct ToolCallEnd {
  std::string id;
  std::string name;
  boost::json::object input;
};

enum class FinishReason { kStop, kToolCalls, kLength, kOther };

struct Usage {
  std::optional<std::int64_t> input_tokens;
  std::optional<std::int64_t> output_tokens;
};

struct Finish {
  FinishReason reason = FinishReason::kOther;
  std::string raw_reason;  // the provider's own value, e.g. "end_turn" or "content_filter"
  Usage usage;
};

// Codes the adapters themselves produce; in-band provider errors keep the provider's type (e.g.
// "overloaded_error").
inline constexpr std::string_view kInvalidJson = "invalid_json";  // a data line was not valid JSON
inline constexpr std::string_view kInvalidToolInput =
    "invalid_tool_input";                                                // tool arguments were not an object
inline constexpr std::string_view kStreamTooLarge = "stream_too_large";  // the SSE buffer bound was exceeded
inline constexpr std::string_view kIncompleteStream =
    "incomplete_stream";  // the body ended before the end event

struct StreamError {
  std::string code;
  std::string message;
  // Set for kInvalidToolInput, so the caller can send `tool-input-error` for the right call.
  std::string tool_call_id;
  std::string tool_name;
  std::string raw_input;
};

using ProviderEvent =
    std::variant<TextDelta, ToolCallStart, ToolCallInputDelta, ToolCallEnd, Finish, StreamError>;

// "stop", "tool-calls", "length" or "other": the UI message stream's finishReason spelling.
std::string_view ui_finish_reason(FinishReason reason);

// Parses accumulated tool arguments: empty text is an empty object (a tool without parameters); anything but
// a JSON object is an error event naming the tool.
std::variant<ToolCallEnd, StreamError> parse_tool_input(std::string id, std::string name, std::string raw);

}  // namespace cellblock::chat
