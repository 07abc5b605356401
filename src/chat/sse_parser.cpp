#include "chat/sse_parser.h"

#include <charconv>

namespace cellblock::chat {

Status SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return fail(ErrorCode::kPayloadTooLarge, "SSE stream exceeded its buffer bound earlier");
  for (char c : bytes) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF pair; the CR already ended the line
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      process_line(line_, out);
      line_.clear();
      continue;
    }
    line_.push_back(c);
    if (line_.size() + data_.size() > max_buffer_) {
      failed_ = true;
      return fail(ErrorCode::kPayloadTooLarge,
                  "SSE event larger than " + std::to_string(max_buffer_) + " bytes");
    }
  }
  return {};
}

void SseParser::process_line(std::string_view line, std::vector<SseEvent>& out) {
  if (at_stream_start_) {
    at_stream_start_ = false;
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    if (line.starts_with(kBom)) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    dispatch(out);
    return;
  }
  if (line.front() == ':') return;  // a comment, e.g. a keep-alive
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    event_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  } else if (field == "retry") {
    std::uint64_t ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size() && !value.empty()) retry_ = ms;
  }
  // Unknown fields are ignored, as the standard requires.
}

void SseParser::dispatch(std::vector<SseEvent>& out) {
  if (has_data_) {
    SseEvent event;
    if (!event_.empty()) event.event = std::move(event_);
    event.data = std::move(data_);
    event.id = last_id_;
    event.retry = retry_;
    out.push_back(std::move(event));
  }
  // An event without data is dropped, but its fields must not leak into the next one.
  has_data_ = false;
  data_.clear();
  event_.clear();
}

}  // namespace cellblock::chat
