#pragma once
// Streaming gunzip for `Content-Encoding: gzip` uploads, and a one-shot gzip for responses and tests.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cellblock::http {

class GzipInflater {
 public:
  using Sink = std::function<Status(std::string_view)>;

  static constexpr std::size_t kDefaultPieceSize = 64 * 1024;

  // `max_output` caps the total inflated size (a decompression-bomb guard, kPayloadTooLarge); 0 = no cap.
  // Output reaches the sink in pieces of at most `piece_size` bytes.
  explicit GzipInflater(std::uint64_t max_output = 0, std::size_t piece_size = kDefaultPieceSize);
  ~GzipInflater();
  GzipInflater(const GzipInflater&) = delete;
  GzipInflater& operator=(const GzipInflater&) = delete;

  // Inflates `in`; a sink error aborts and is returned unchanged. Errors are sticky. Concatenated gzip
  // members (as `cat a.gz b.gz` makes) are decoded one after the other; bytes after the last member are an
  // error.
  Status feed(std::string_view in, const Sink& out);
  // An error if the stream is truncated (no complete gzip member, or one cut short).
  Status finish();

  std::uint64_t total_out() const { return total_out_; }

 private:
  struct Stream;

  Status inflate_available(const Sink& out);
  Status fail_with(Error error);

  std::unique_ptr<Stream> stream_;
  std::uint64_t max_output_;
  std::string piece_;
  std::uint64_t total_out_ = 0;
  bool member_open_ = false;     // inside a gzip member that has not ended yet
  bool saw_member_end_ = false;  // at least one member completed
  std::optional<Error> error_;
};

// gzip (RFC 1952) of `data` at the default compression level.
std::string gzip_compress(std::string_view data);

}  // namespace cellblock::http
