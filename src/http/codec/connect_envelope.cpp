#include "http/codec/connect_envelope.h"

#include <string>
#include <utility>

#include <boost/json.hpp>

namespace cellblock::http {
namespace {

std::uint32_t read_big_endian_u32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

boost::json::object error_object(ErrorCode code, std::string_view message) {
  boost::json::object object;
  object["code"] = connect_code(code);
  object["message"] = message;
  return object;
}

}  // namespace

std::string encode_envelope(std::uint8_t flags, std::string_view payload) {
  const auto length = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(kEnvelopeHeaderSize + payload.size());
  out.push_back(static_cast<char>(flags));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((length >> shift) & 0xff));
  out.append(payload);
  return out;
}

EnvelopeDecoder::EnvelopeDecoder(std::size_t max_message_size) : max_message_size_(max_message_size) {}

Status EnvelopeDecoder::feed(std::string_view bytes) {
  if (error_) return tl::unexpected(*error_);
  // Drop consumed envelopes before growing, so the buffer holds at most one envelope plus this slice.
  if (consumed_ > 0) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
  return check_pending_header();
}

Status EnvelopeDecoder::check_pending_header() {
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  if (pending.size() < kEnvelopeHeaderSize) return {};
  const auto flags = static_cast<std::uint8_t>(pending[0]);
  const std::uint32_t length = read_big_endian_u32(pending.substr(1));
  if ((flags & kCompressedFlag) != 0) {
    error_ = Error{ErrorCode::kInvalidArgument, "compressed envelopes are not supported"};
  } else if (length > max_message_size_) {
    error_ = Error{ErrorCode::kPayloadTooLarge, "envelope of " + std::to_string(length) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(max_message_size_) + " bytes"};
  }
  if (error_) return tl::unexpected(*error_);
  return {};
}

Result<std::optional<Envelope>> EnvelopeDecoder::next() {
  if (error_) return tl::unexpected(*error_);
  if (auto status = check_pending_header(); !status) return tl::unexpected(status.error());
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  if (pending.size() < kEnvelopeHeaderSize) return std::optional<Envelope>();
  const std::uint32_t length = read_big_endian_u32(pending.substr(1));
  if (pending.size() - kEnvelopeHeaderSize < length) return std::optional<Envelope>();
  Envelope envelope{static_cast<std::uint8_t>(pending[0]),
                    std::string(pending.substr(kEnvelopeHeaderSize, length))};
  consumed_ += kEnvelopeHeaderSize + length;
  if (consumed_ == buffer_.size()) {
    buffer_.clear();
    consumed_ = 0;
  }
  return std::optional<Envelope>(std::move(envelope));
}

Status EnvelopeDecoder::finish() const {
  if (error_) return tl::unexpected(*error_);
  const std::size_t pending = buffer_.size() - consumed_;
  if (pending != 0) {
    return fail(ErrorCode::kInvalidArgument, "request body ended inside a Connect envelope (" +
                                                 std::to_string(pending) + " bytes pending)");
  }
  return {};
}

std::string end_stream_ok() {
  return "{}";
}

std::string end_stream_error(ErrorCode code, std::string_view message) {
  boost::json::object object;
  object["error"] = error_object(code, message);
  return boost::json::serialize(object);
}

std::string unary_error_body(ErrorCode code, std::string_view message) {
  return boost::json::serialize(error_object(code, message));
}

}  // namespace cellblock::http
