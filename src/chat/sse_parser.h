#pragma once
// An incremental Server-Sent Events parser (the WHATWG event-stream grammar) fed arbitrary byte slices of an
// HTTP body. It knows nothing about what the events mean; the provider adapters interpret `data`.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cellblock::chat {

struct SseEvent {
  std::string event = "message";  // the `event:` field, "message" when absent
  std::string data;               // every `data:` line of the event joined with "\n"
  std::string id;                 // the last event id seen so far (it persists across events, as in browsers)
  std::optional<std::uint64_t> retry;  // the latest reconnection time (ms) announced so far
};

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxBuffer = 4 * 1024 * 1024;

  // `max_buffer` bounds the unfinished line plus the data of the event being assembled, so a peer that never
  // sends a line end or a blank line cannot make us grow without limit.
  explicit SseParser(std::size_t max_buffer = kDefaultMaxBuffer) : max_buffer_(max_buffer) {}

  // Parses `bytes` and appends every event they complete to `out`. Fails with kPayloadTooLarge when the bound
  // is exceeded; the parser is then unusable (every later call fails too).
  Status feed(std::string_view bytes, std::vector<SseEvent>& out);

 private:
  void process_line(std::string_view line, std::vector<SseEvent>& out);
  void dispatch(std::vector<SseEvent>& out);

  std::size_t max_buffer_;
  std::string line_;
  bool after_cr_ = false;        // the previous byte was CR, so an LF right after it ends nothing new
  bool at_stream_start_ = true;  // a UTF-8 BOM may start the stream
  bool failed_ = false;
  bool has_data_ = false;
  std::string data_;
  std::string event_;
  std::string last_id_;
  std::optional<std::uint64_t> retry_;
};

}  // namespace cellblock::chat
