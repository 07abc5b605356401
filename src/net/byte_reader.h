#pragma once
// Big-endian reads from wire bytes that never go past their end, for the parsers of hostile input in this
// directory (TLS ClientHello, DNS messages). Each read returns false and consumes nothing when too few bytes
// are left; callers turn that into their own "truncated" or "malformed" answer.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cellblock::net {

class ByteReader {
 public:
  explicit ByteReader(std::string_view data, std::size_t offset = 0)
      : data_(data), offset_(offset <= data.size() ? offset : data.size()) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return data_.size() - offset_; }

  bool read_u8(std::uint8_t& out) {
    if (remaining() < 1) return false;
    out = byte(0);
    offset_ += 1;
    return true;
  }
  bool read_u16(std::uint16_t& out) {
    if (remaining() < 2) return false;
    out = static_cast<std::uint16_t>((byte(0) << 8) | byte(1));
    offset_ += 2;
    return true;
  }
  bool read_u24(std::uint32_t& out) {
    if (remaining() < 3) return false;
    out = (std::uint32_t{byte(0)} << 16) | (std::uint32_t{byte(1)} << 8) | byte(2);
    offset_ += 3;
    return true;
  }
  bool read_u32(std::uint32_t& out) {
    if (remaining() < 4) return false;
    out = (std::uint32_t{byte(0)} << 24) | (std::uint32_t{byte(1)} << 16) | (std::uint32_t{byte(2)} << 8) |
          byte(3);
    offset_ += 4;
    return true;
  }
  bool read_bytes(std::size_t count, std::string_view& out) {
    if (remaining() < count) return false;
    out = data_.substr(offset_, count);
    offset_ += count;
    return true;
  }
  bool skip(std::size_t count) {
    if (remaining() < count) return false;
    offset_ += count;
    return true;
  }

 private:
  std::uint8_t byte(std::size_t index) const { return static_cast<std::uint8_t>(data_[offset_ + index]); }

  std::string_view data_;
  std::size_t offset_;
};

}  // namespace cellblock::net
