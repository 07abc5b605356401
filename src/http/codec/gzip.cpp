#include "http/codec/gzip.h"

#include <zlib.h>

#include <climits>

namespace cellblock::http {
namespace {

// 16 + MAX_WBITS selects the gzip wrapper (RFC 1952) rather than zlib's own.
constexpr int kGzipWindowBits = 16 + MAX_WBITS;
constexpr int kDefaultMemLevel = 8;

Bytef* bytes_of(std::string_view text) {
  return reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
}

std::string zlib_message(const z_stream& stream, int code) {
  return stream.msg != nullptr ? std::string(stream.msg) : "zlib error " + std::to_string(code);
}

}  // namespace

struct GzipInflater::Stream {
  z_stream z{};
  bool initialised = false;
};

GzipInflater::GzipInflater(std::uint64_t max_output, std::size_t piece_size)
    : stream_(std::make_unique<Stream>()),
      max_output_(max_output),
      piece_(piece_size == 0 ? 1 : piece_size, '\0') {
  if (inflateInit2(&stream_->z, kGzipWindowBits) == Z_OK) {
    stream_->initialised = true;
  } else {
    error_ = Error{ErrorCode::kInternal, "cannot initialise zlib inflate"};
  }
}

GzipInflater::~GzipInflater() {
  if (stream_->initialised) inflateEnd(&stream_->z);
}

Status GzipInflater::fail_with(Error error) {
  error_ = std::move(error);
  return tl::unexpected(*error_);
}

Status GzipInflater::feed(std::string_view in, const Sink& out) {
  if (error_) return tl::unexpected(*error_);
  while (!in.empty()) {
    // zlib counts input in uInt; oversized slices go in parts.
    const std::string_view chunk = in.substr(0, UINT_MAX);
    in.remove_prefix(chunk.size());
    stream_->z.next_in = bytes_of(chunk);
    stream_->z.avail_in = static_cast<uInt>(chunk.size());
    if (auto status = inflate_available(out); !status) return status;
  }
  return {};
}

// Inflates until the current input is used up and no more output is pending.
Status GzipInflater::inflate_available(const Sink& out) {
  z_stream& z = stream_->z;
  while (true) {
    if (!member_open_) {
      if (z.avail_in == 0) return {};
      // Another member after a complete one (`cat a.gz b.gz`); trailing garbage fails its header check below.
      if (saw_member_end_) inflateReset(&z);
      member_open_ = true;
    }
    z.next_out = reinterpret_cast<Bytef*>(piece_.data());
    z.avail_out = static_cast<uInt>(piece_.size());
    const int code = inflate(&z, Z_NO_FLUSH);
    if (code != Z_OK && code != Z_STREAM_END && code != Z_BUF_ERROR) {
      return fail_with(Error{ErrorCode::kInvalidArgument, "invalid gzip data: " + zlib_message(z, code)});
    }
    const std::size_t produced = piece_.size() - z.avail_out;
    total_out_ += produced;
    if (max_output_ != 0 && total_out_ > max_output_) {
      return fail_with(Error{ErrorCode::kPayloadTooLarge,
                             "gzip body inflates to more than " + std::to_string(max_output_) + " bytes"});
    }
    if (produced > 0) {
      if (auto status = out(std::string_view(piece_.data(), produced)); !status) {
        return fail_with(std::move(status.error()));
      }
    }
    if (code == Z_STREAM_END) {
      member_open_ = false;
      saw_member_end_ = true;
      continue;
    }
    // inflate stops only when the input is used up or the output piece is full; a full piece may hide more.
    if (z.avail_out != 0) return {};
  }
}

Status GzipInflater::finish() {
  if (error_) return tl::unexpected(*error_);
  if (member_open_ || !saw_member_end_) {
    return fail_with(Error{ErrorCode::kInvalidArgument, "gzip stream is truncated"});
  }
  return {};
}

std::string gzip_compress(std::string_view data) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, kGzipWindowBits, kDefaultMemLevel,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return {};
  }
  std::string out;
  std::string piece(GzipInflater::kDefaultPieceSize, '\0');
  while (true) {
    if (z.avail_in == 0 && !data.empty()) {
      const std::string_view chunk = data.substr(0, UINT_MAX);
      data.remove_prefix(chunk.size());
      z.next_in = bytes_of(chunk);
      z.avail_in = static_cast<uInt>(chunk.size());
    }
    z.next_out = reinterpret_cast<Bytef*>(piece.data());
    z.avail_out = static_cast<uInt>(piece.size());
    const int code = deflate(&z, data.empty() ? Z_FINISH : Z_NO_FLUSH);
    out.append(piece.data(), piece.size() - z.avail_out);
    if (code == Z_STREAM_END) break;
    if (code == Z_STREAM_ERROR) {
      out.clear();
      break;
    }
  }
  deflateEnd(&z);
  return out;
}

}  // namespace cellblock::http
