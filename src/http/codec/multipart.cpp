#include "http/codec/multipart.h"

#include <algorithm>

#include "http/codec/header_params.h"

namespace cellblock::http {
namespace {

// RFC 2046 §5.1.1: boundaries are 1 to 70 characters.
constexpr std::size_t kMaxBoundaryLength = 70;
// Linear white space allowed between a boundary and its CRLF ("transport padding"); more is not a boundary,
// which keeps the carry-over bounded.
constexpr std::size_t kMaxTransportPadding = 256;

// What follows a `CRLF--boundary` match.
struct DelimiterEnd {
  enum Kind { kNextPart, kClose, kNeedMore, kNotDelimiter } kind;
  std::size_t length = 0;  // bytes after the boundary that belong to the delimiter line
};

// A delimiter is `CRLF--boundary` followed by `--` (the close delimiter) or by optional padding and CRLF.
// Anything else means the bytes are part data that merely start like a boundary.
DelimiterEnd match_delimiter_end(std::string_view tail) {
  if (tail.starts_with("--")) return {DelimiterEnd::kClose, 2};
  if (tail.empty() || tail == "-") return {DelimiterEnd::kNeedMore};
  std::size_t i = 0;
  while (i < tail.size() && (tail[i] == ' ' || tail[i] == '\t')) {
    if (++i > kMaxTransportPadding) return {DelimiterEnd::kNotDelimiter};
  }
  if (i == tail.size()) return {DelimiterEnd::kNeedMore};
  if (tail[i] != '\r') return {DelimiterEnd::kNotDelimiter};
  if (i + 1 == tail.size()) return {DelimiterEnd::kNeedMore};
  if (tail[i + 1] != '\n') return {DelimiterEnd::kNotDelimiter};
  return {DelimiterEnd::kNextPart, i + 2};
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// A header line quoted in an error message: printable and short.
std::string printable_excerpt(std::string_view text) {
  constexpr std::size_t kMaxExcerpt = 80;
  std::string out;
  for (const char c : text.substr(0, kMaxExcerpt)) {
    const auto byte = static_cast<unsigned char>(c);
    out.push_back(byte >= 0x20 && byte < 0x7f ? c : '?');
  }
  if (text.size() > kMaxExcerpt) out += "...";
  return out;
}

const std::string* find_field(const std::vector<std::pair<std::string, std::string>>& fields,
                              std::string_view name) {
  for (const auto& [key, value] : fields) {
    if (key == name) return &value;
  }
  return nullptr;
}

// `key*` (RFC 5987) wins over `key`; nullopt when neither is present.
Result<std::optional<std::string>> disposition_param(const HeaderValue& disposition, const std::string& key) {
  if (const std::string* extended = disposition.param(key + "*")) {
    auto decoded = decode_ext_value(*extended);
    if (!decoded) {
      return fail(ErrorCode::kInvalidArgument,
                  "bad Content-Disposition parameter " + key + "*: " + decoded.error().message);
    }
    return std::optional<std::string>(std::move(*decoded));
  }
  if (const std::string* plain = disposition.param(key)) return std::optional<std::string>(*plain);
  return std::optional<std::string>();
}

}  // namespace

Result<std::string> boundary_from_content_type(std::string_view content_type) {
  auto parsed = parse_header_value(content_type);
  if (!parsed) return fail(ErrorCode::kInvalidArgument, "bad Content-Type: " + parsed.error().message);
  if (!ascii_lower(parsed->type).starts_with("multipart/")) {
    return fail(ErrorCode::kUnsupportedMedia, "Content-Type '" + parsed->type + "' is not multipart");
  }
  const std::string* boundary = parsed->param("boundary");
  if (boundary == nullptr || boundary->empty()) {
    return fail(ErrorCode::kInvalidArgument, "multipart Content-Type has no boundary parameter");
  }
  if (boundary->size() > kMaxBoundaryLength) {
    return fail(ErrorCode::kInvalidArgument, "multipart boundary is longer than 70 characters");
  }
  return *boundary;
}

MultipartParser::MultipartParser(std::string_view boundary, MultipartLimits limits)
    : delimiter_("\r\n--" + std::string(boundary)),
      limits_(limits),
      // The first boundary may open the body without a CRLF before it; a virtual CRLF lets one delimiter
      // search serve both cases (RFC 2046: the CRLF before a boundary belongs to the boundary).
      buffer_("\r\n") {
  if (boundary.empty()) {
    (void)fail_with(Error{ErrorCode::kInvalidArgument, "empty multipart boundary"});
  }
}

Status MultipartParser::fail_with(Error error) {
  state_ = State::kFailed;
  error_ = std::move(error);
  buffer_.clear();
  pos_ = 0;
  return tl::unexpected(error_);
}

Status MultipartParser::feed(std::string_view bytes, Callbacks& callbacks) {
  if (state_ == State::kFailed) return tl::unexpected(error_);
  if (state_ == State::kEpilogue) return {};
  buffer_.erase(0, pos_);
  pos_ = 0;
  buffer_.append(bytes);
  while (true) {
    auto progressed = step(callbacks);
    if (!progressed) return fail_with(std::move(progressed.error()));
    if (!*progressed) return {};
  }
}

Status MultipartParser::finish() {
  if (state_ == State::kFailed) return tl::unexpected(error_);
  if (state_ != State::kEpilogue) {
    return fail_with(Error{ErrorCode::kInvalidArgument, "multipart body ended before the closing boundary '" +
                                                            delimiter_.substr(2) + "--'"});
  }
  return {};
}

// One state's worth of work; false when more input is needed.
Result<bool> MultipartParser::step(Callbacks& callbacks) {
  switch (state_) {
    case State::kPreamble:
    case State::kBody:
      return scan_to_delimiter(callbacks);
    case State::kHeaders:
      return scan_header_lines(callbacks);
    case State::kEpilogue:
      buffer_.clear();
      pos_ = 0;
      return false;
    case State::kFailed:
      break;
  }
  return tl::unexpected(error_);
}

Status MultipartParser::emit_data(std::string_view bytes, Callbacks& callbacks) {
  if (state_ != State::kBody || bytes.empty()) return {};  // preamble bytes are dropped
  return callbacks.on_part_data(bytes);
}

Result<bool> MultipartParser::scan_to_delimiter(Callbacks& callbacks) {
  const std::string_view data = std::string_view(buffer_).substr(pos_);
  std::size_t from = 0;
  while (true) {
    const std::size_t at = data.find(delimiter_, from);
    if (at == std::string_view::npos) {
      // Everything except a possible delimiter prefix at the very end is part data.
      const std::size_t safe = data.size() - std::min(data.size(), delimiter_.size() - 1);
      if (auto status = emit_data(data.substr(0, safe), callbacks); !status)
        return tl::unexpected(status.error());
      pos_ += safe;
      return false;
    }
    const DelimiterEnd end = match_delimiter_end(data.substr(at + delimiter_.size()));
    if (end.kind == DelimiterEnd::kNotDelimiter) {
      from = at + 1;
      continue;
    }
    if (auto status = emit_data(data.substr(0, at), callbacks); !status)
      return tl::unexpected(status.error());
    if (end.kind == DelimiterEnd::kNeedMore) {
      pos_ += at;
      return false;
    }
    pos_ += at + delimiter_.size() + end.length;
    if (state_ == State::kBody) {
      if (auto status = callbacks.on_part_end(); !status) return tl::unexpected(status.error());
    }
    state_ = end.kind == DelimiterEnd::kClose ? State::kEpilogue : State::kHeaders;
    return true;
  }
}

Result<bool> MultipartParser::scan_header_lines(Callbacks& callbacks) {
  while (true) {
    const std::string_view data = std::string_view(buffer_).substr(pos_);
    const std::size_t eol = data.find("\r\n");
    const std::size_t line_bytes = eol == std::string_view::npos ? data.size() : eol + 2;
    if (header_bytes_ + line_bytes > limits_.max_header_block) {
      return fail(ErrorCode::kInvalidArgument,
                  "multipart part headers exceed " + std::to_string(limits_.max_header_block) + " bytes");
    }
    if (eol == std::string_view::npos) return false;
    header_bytes_ += line_bytes;
    pos_ += line_bytes;
    const std::string_view line = data.substr(0, eol);
    if (line.empty()) {
      if (auto status = begin_part(callbacks); !status) return tl::unexpected(status.error());
      state_ = State::kBody;
      return true;
    }
    if (auto status = add_header_line(line); !status) return tl::unexpected(status.error());
  }
}

Status MultipartParser::add_header_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    // obs-fold: a continuation of the previous field.
    if (header_fields_.empty()) {
      return fail(ErrorCode::kInvalidArgument, "malformed multipart part header: continuation line '" +
                                                   printable_excerpt(line) + "' without a field");
    }
    header_fields_.back().second.append(" ").append(trim(line));
    return {};
  }
  const std::size_t colon = line.find(':');
  const std::string_view name = colon == std::string_view::npos ? std::string_view() : line.substr(0, colon);
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
    return fail(ErrorCode::kInvalidArgument, "malformed multipart part header line '" +
                                                 printable_excerpt(line) + "' (expected 'Name: value')");
  }
  header_fields_.emplace_back(ascii_lower(name), std::string(trim(line.substr(colon + 1))));
  return {};
}

Status MultipartParser::begin_part(Callbacks& callbacks) {
  if (part_count_ >= limits_.max_parts) {
    return fail(ErrorCode::kInvalidArgument,
                "multipart body has more than " + std::to_string(limits_.max_parts) + " parts");
  }
  const std::string* disposition_text = find_field(header_fields_, "content-disposition");
  if (disposition_text == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "multipart part has no Content-Disposition header");
  }
  auto disposition = parse_header_value(*disposition_text);
  if (!disposition) {
    return fail(ErrorCode::kInvalidArgument, "bad Content-Disposition: " + disposition.error().message);
  }
  auto name = disposition_param(*disposition, "name");
  if (!name) return tl::unexpected(name.error());
  auto filename = disposition_param(*disposition, "filename");
  if (!filename) return tl::unexpected(filename.error());

  PartHeaders headers;
  headers.name = name->value_or("");
  headers.filename = std::move(*filename);
  if (const std::string* content_type = find_field(header_fields_, "content-type")) {
    headers.content_type = *content_type;
  }
  headers.fields = std::move(header_fields_);
  header_fields_.clear();
  header_bytes_ = 0;
  ++part_count_;
  return callbacks.on_part_begin(headers);
}

}  // namespace cellblock::http
