#include "jupyter/wire.h"

#include <algorithm>
#include <array>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/encoding.h"

namespace cellblock::jupyter {
namespace {

namespace json = boost::json;

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Result<json::object> parse_object(std::string_view frame, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(frame, ec);
  if (ec)
    return fail(ErrorCode::kInvalidArgument, "jupyter message " + std::string(what) + ": " + ec.message());
  if (!value.is_object()) {
    return fail(ErrorCode::kInvalidArgument,
                "jupyter message " + std::string(what) + " is not a JSON object");
  }
  return std::move(value.get_object());
}

}  // namespace

std::string sign_frames(std::string_view key, std::string_view header, std::string_view parent_header,
                        std::string_view metadata, std::string_view content) {
  if (key.empty()) return {};
  // The one-shot HMAC() takes a single buffer, so the four frames are joined first; the copy costs far less
  // than the round trip to the kernel.
  std::string joined;
  joined.reserve(header.size() + parent_header.size() + metadata.size() + content.size());
  joined.append(header).append(parent_header).append(metadata).append(content);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(joined.data()), joined.size(), digest.data(), &digest_length);
  return hex_encode(std::span<const unsigned char>(digest.data(), digest_length));
}

std::vector<std::string> encode(const Message& message, std::string_view key) {
  std::vector<std::string> frames;
  frames.reserve(6 + message.buffers.size());
  frames.emplace_back(kDelimiter);
  frames.emplace_back();  // the signature, filled in below
  frames.push_back(json::serialize(message.header));
  frames.push_back(json::serialize(message.parent_header));
  frames.push_back(json::serialize(message.metadata));
  frames.push_back(json::serialize(message.content));
  frames[1] = sign_frames(key, frames[2], frames[3], frames[4], frames[5]);
  frames.insert(frames.end(), message.buffers.begin(), message.buffers.end());
  return frames;
}

Result<Message> decode(std::span<const std::string_view> frames, std::string_view key) {
  auto delimiter = std::find(frames.begin(), frames.end(), kDelimiter);
  if (delimiter == frames.end())
    return fail(ErrorCode::kInvalidArgument, "jupyter message without <IDS|MSG>");
  auto parts = frames.subspan(static_cast<std::size_t>(delimiter - frames.begin()) + 1);
  if (parts.size() < 5) return fail(ErrorCode::kInvalidArgument, "jupyter message with fewer than 5 frames");
  const std::string_view signature = parts[0];

  if (!key.empty()) {
    if (signature.size() != kSignatureLength || !is_lower_hex(signature)) {
      return fail(ErrorCode::kUnauthenticated, "jupyter message with a malformed signature");
    }
    const std::string expected = sign_frames(key, parts[1], parts[2], parts[3], parts[4]);
    if (CRYPTO_memcmp(expected.data(), signature.data(), kSignatureLength) != 0) {
      return fail(ErrorCode::kUnauthenticated, "jupyter message with a wrong signature");
    }
  }

  Message message;
  auto header = parse_object(parts[1], "header");
  if (!header) return tl::unexpected(header.error());
  auto parent_header = parse_object(parts[2], "parent_header");
  if (!parent_header) return tl::unexpected(parent_header.error());
  auto metadata = parse_object(parts[3], "metadata");
  if (!metadata) return tl::unexpected(metadata.error());
  auto content = parse_object(parts[4], "content");
  if (!content) return tl::unexpected(content.error());

  message.header = std::move(*header);
  message.parent_header = std::move(*parent_header);
  message.metadata = std::move(*metadata);
  message.content = std::move(*content);
  message.msg_type = std::string(string_field(message.header, "msg_type"));
  message.msg_id = std::string(string_field(message.header, "msg_id"));
  message.parent_msg_id = std::string(string_field(message.parent_header, "msg_id"));
  for (std::string_view buffer : parts.subspan(5)) message.buffers.emplace_back(buffer);
  return message;
}

}  // namespace cellblock::jupyter
