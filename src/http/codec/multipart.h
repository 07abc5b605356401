#pragma once
// A streaming multipart/form-data parser (RFC 7578 on top of RFC 2046 §5.1) for `POST /files` uploads of any
// size. Part bodies are handed to the consumer as they arrive; the parser keeps only a small carry-over (at
// most the delimiter length, or one header block) plus the slice it was last fed, so a 50 MB file streams
// through in constant memory.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cellblock::http {

// The boundary parameter of a `multipart/...` Content-Type (quoted or bare; parameter names are
// case-insensitive). Not multipart → kUnsupportedMedia; no usable boundary → kInvalidArgument.
Result<std::string> boundary_from_content_type(std::string_view content_type);

struct PartHeaders {
  std::string name;  // Content-Disposition `name`
  std::optional<std::string>
      filename;              // `filename*` (RFC 5987) wins over `filename`; absent for plain fields
  std::string content_type;  // the part's Content-Type as sent, empty when absent
  std::vector<std::pair<std::string, std::string>> fields;  // every header line, names lower-cased, in order
};

struct MultipartLimits {
  std::size_t max_header_block = 16 * 1024;  // bytes of one part's header block, CRLFs included
  std::size_t max_parts = 10000;
};

// Each callback may return an error (e.g. disk full) to abort parsing; feed() then returns that error
// unchanged.
class MultipartCallbacks {
 public:
  virtual ~MultipartCallbacks() = default;
  virtual Status on_part_begin(const PartHeaders& headers) = 0;
  // Called zero or more times per part with consecutive slices of its body; slices are never empty.
  virtual Status on_part_data(std::string_view bytes) = 0;
  virtual Status on_part_end() = 0;
};

class MultipartParser {
 public:
  using Callbacks = MultipartCallbacks;

  explicit MultipartParser(std::string_view boundary, MultipartLimits limits = {});

  // Parses the next slice of the body. Errors are sticky: after one, every call returns it again.
  Status feed(std::string_view bytes, Callbacks& callbacks);
  // Call at the end of the body: an error unless the closing boundary `--boundary--` has been seen.
  Status finish();

  bool done() const { return state_ == State::kEpilogue; }
  std::size_t part_count() const { return part_count_; }
  // Bytes held back between feeds (a possible delimiter prefix or an unfinished header line).
  std::size_t buffered_bytes() const { return buffer_.size() - pos_; }

 private:
  enum class State { kPreamble, kHeaders, kBody, kEpilogue, kFailed };

  Result<bool> step(Callbacks& callbacks);
  Result<bool> scan_to_delimiter(Callbacks& callbacks);
  Result<bool> scan_header_lines(Callbacks& callbacks);
  Status add_header_line(std::string_view line);
  Status begin_part(Callbacks& callbacks);
  Status emit_data(std::string_view bytes, Callbacks& callbacks);
  Status fail_with(Error error);

  std::string delimiter_;  // CRLF "--" boundary
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  std::string buffer_;
  std::size_t pos_ = 0;  // bytes of buffer_ already handled
  std::size_t header_bytes_ = 0;
  std::vector<std::pair<std::string, std::string>> header_fields_;
  std::size_t part_count_ = 0;
  Error error_;
};

}  // namespace cellblock::http
