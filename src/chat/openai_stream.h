#pragma once
// Maps an OpenAI Chat Completions streaming body (`data: {chunk}` lines ending with `data: [DONE]`) to
// provider events, assembling tool calls by their `index`. Works for OpenAI-compatible servers too.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "chat/provider_events.h"
#include "chat/sse_parser.h"

namespace cellblock::chat {

class OpenAiStream {
 public:
  explicit OpenAiStream(std::size_t max_buffer = SseParser::kDefaultMaxBuffer) : sse_(max_buffer) {}

  // Appends the events that `bytes` complete. Tool calls end (ToolCallEnd) at the chunk carrying
  // finish_reason; Finish comes at `[DONE]`, after the usage chunk. After a StreamError or Finish further
  // bytes are ignored.
  void feed(std::string_view bytes, std::vector<ProviderEvent>& out);
  // The HTTP body ended. A stream that reported finish_reason but omitted `[DONE]` still finishes; one that
  // did neither gives kIncompleteStream.
  void end_of_body(std::vector<ProviderEvent>& out);
  bool done() const { return done_; }

 private:
  struct Call {
    std::string id;
    std::string name;
    std::string arguments;
    bool started = false;
  };

  void on_chunk(const boost::json::object& chunk, std::vector<ProviderEvent>& out);
  void on_tool_fragment(const boost::json::object& fragment, std::vector<ProviderEvent>& out);
  void end_tool_calls(std::vector<ProviderEvent>& out);
  void finish(std::vector<ProviderEvent>& out);
  void emit_error(std::vector<ProviderEvent>& out, std::string_view code, std::string message);

  SseParser sse_;
  std::vector<SseEvent> pending_;
  std::map<std::int64_t, Call> calls_;
  bool had_tool_calls_ = false;
  bool saw_finish_reason_ = false;
  Finish finish_;
  bool done_ = false;
};

// Maps a Chat Completions finish_reason to the normalized reason.
FinishReason openai_finish_reason(std::string_view finish_reason);

}  // namespace cellblock::chat
