#pragma once
// Maps the Anthropic Messages streaming body (SSE: message_start, content_block_*, message_delta,
// message_stop, ping, error) to provider events. Pure: the caller feeds body bytes as they arrive.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "chat/provider_events.h"
#include "chat/sse_parser.h"

namespace cellblock::chat {

class AnthropicStream {
 public:
  explicit AnthropicStream(std::size_t max_buffer = SseParser::kDefaultMaxBuffer) : sse_(max_buffer) {}

  // Appends the events that `bytes` complete. After a StreamError or Finish the stream is done and further
  // bytes are ignored.
  void feed(std::string_view bytes, std::vector<ProviderEvent>& out);
  // The HTTP body ended: a stream without message_stop (and without an error) gives kIncompleteStream.
  void end_of_body(std::vector<ProviderEvent>& out);
  bool done() const { return done_; }

 private:
  struct Block {
    bool is_tool = false;
    std::string id;
    std::string name;
    std::string json;
  };

  void on_event(const SseEvent& event, std::vector<ProviderEvent>& out);
  void on_block_start(const boost::json::object& data, std::vector<ProviderEvent>& out);
  void on_block_delta(const boost::json::object& data, std::vector<ProviderEvent>& out);
  void on_block_stop(const boost::json::object& data, std::vector<ProviderEvent>& out);
  void on_message_delta(const boost::json::object& data);
  void on_error(const boost::json::object& data, std::vector<ProviderEvent>& out);
  void emit_error(std::vector<ProviderEvent>& out, std::string_view code, std::string message);

  SseParser sse_;
  std::vector<SseEvent> pending_;
  std::map<std::int64_t, Block> blocks_;
  Finish finish_;
  bool done_ = false;
};

// Maps an Anthropic stop_reason to the normalized reason.
FinishReason anthropic_finish_reason(std::string_view stop_reason);

}  // namespace cellblock::chat
