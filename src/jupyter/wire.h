#pragma once
// The Jupyter wire format (jupyter.md §3): a message is one ZeroMQ multipart message
//   [routing ids | topic]…  "<IDS|MSG>"  signature  header  parent_header  metadata  content  [buffers…]
// signed with lowercase-hex HMAC-SHA256 over the four JSON frames exactly as sent. No sockets here.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "jupyter/message.h"

namespace cellblock::jupyter {

inline constexpr std::string_view kDelimiter = "<IDS|MSG>";
inline constexpr std::size_t kSignatureLength = 64;  // hex characters of an HMAC-SHA256

// The signature of the four JSON frames, as lowercase hex. The key is used as raw bytes (the connection
// file's string, not hex-decoded). An empty key disables signing and gives "".
std::string sign_frames(std::string_view key, std::string_view header, std::string_view parent_header,
                        std::string_view metadata, std::string_view content);

// The frames a DEALER sends: delimiter, signature, header, parent_header, metadata, content, buffers.
std::vector<std::string> encode(const Message& message, std::string_view key);

// Decodes a received multipart message. Frames before the delimiter (routing ids, an iopub topic) are
// skipped. With a non-empty key the signature is checked — length, then HMAC compared in constant time —
// before any JSON is parsed, so unauthenticated input never reaches the parser. Errors: kUnauthenticated for
// a bad signature, kInvalidArgument for malformed frames or JSON.
Result<Message> decode(std::span<const std::string_view> frames, std::string_view key);

}  // namespace cellblock::jupyter
