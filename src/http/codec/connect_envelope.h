#pragma once
// Connect streaming envelopes (spec §5.1): 1 flags byte + 4-byte big-endian length + payload. The decoder is
// fed arbitrary slices of a request body and hands back complete envelopes; it never holds more than one
// envelope plus the slice it was last fed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cellblock::http {

inline constexpr std::uint8_t kCompressedFlag = 0x01;
inline constexpr std::uint8_t kEndStreamFlag = 0x02;
inline constexpr std::size_t kEnvelopeHeaderSize = 5;
inline constexpr std::size_t kDefaultMaxEnvelopeSize = 4 * 1024 * 1024;

struct Envelope {
  std::uint8_t flags = 0;
  std::string payload;

  bool end_stream() const { return (flags & kEndStreamFlag) != 0; }
};

std::string encode_envelope(std::uint8_t flags, std::string_view payload);

class EnvelopeDecoder {
 public:
  explicit EnvelopeDecoder(std::size_t max_message_size = kDefaultMaxEnvelopeSize);

  // Buffers `bytes`. Fails as soon as the pending envelope's header is known to be unacceptable (too large,
  // compressed), so a caller can stop reading the body early. Errors are sticky.
  Status feed(std::string_view bytes);
  // The next complete envelope, nullopt when more bytes are needed, or the sticky error.
  Result<std::optional<Envelope>> next();
  // Call at the end of the body: an error if a partial envelope is pending.
  Status finish() const;

  std::size_t buffered_bytes() const { return buffer_.size() - consumed_; }

 private:
  Status check_pending_header();

  std::size_t max_message_size_;
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::optional<Error> error_;
};

// End-stream payloads (to be sent with kEndStreamFlag).
std::string end_stream_ok();
std::string end_stream_error(ErrorCode code, std::string_view message);
// The body of a failed unary Connect call.
std::string unary_error_body(ErrorCode code, std::string_view message);

}  // namespace cellblock::http
