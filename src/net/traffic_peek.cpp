#include "net/traffic_peek.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <cassert>
#include <cstdint>
#include <optional>
#include <utility>

#include "common/encoding.h"
#include "net/byte_reader.h"
#include "net/hostname.h"

namespace cellblock::net {
namespace {

PeekResult need_more() {
  return PeekResult{};
}

PeekResult not_this_protocol(std::string_view reason) {
  return PeekResult{PeekStatus::kNotThisProtocol, {}, false, reason};
}

PeekResult no_hostname(std::string_view reason, bool encrypted_client_hello = false) {
  return PeekResult{PeekStatus::kNoHostname, {}, encrypted_client_hello, reason};
}

PeekResult found(std::string hostname, bool encrypted_client_hello = false) {
  return PeekResult{PeekStatus::kFound, std::move(hostname), encrypted_client_hello, {}};
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

// Longer than any registered method ("UPDATEREDIRECTREF" is 17); a long token is more likely another
// protocol.
constexpr std::size_t kMaxMethodLength = 32;
// The rest of the request line after the target; '#' stands for one digit.
constexpr std::string_view kRequestLineTail = "HTTP/1.#\r\n";
constexpr std::string_view kHeadTooLarge = "HTTP request head over 16 KiB";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 9110 §5.6.2 tchar: the characters of a method or a header name.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c)) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A request-target character: any visible ASCII character (the target's own grammar does not matter here).
bool is_visible(char c) {
  return c > 0x20 && c < 0x7f;
}

// Control characters are not allowed in a field value (RFC 9110 §5.5); a horizontal tab is.
bool is_field_value_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte == '\t' || (byte >= 0x20 && byte != 0x7f);
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::string_view trim_spaces_and_tabs(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// RFC 3986 port: decimal digits, possibly none ("host:" is allowed and means the default port).
bool is_valid_port(std::string_view port) {
  if (port.size() > 5) return false;
  std::uint32_t value = 0;
  for (char c : port) {
    if (!is_digit(c)) return false;
    value = value * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return value <= 65535;
}

// The host of an authority ("host", "host:port", "[v6]", "[v6]:port") without the port: a hostname as
// normalize_hostname gives it, or an IPv6 literal without brackets. Nothing when it is neither.
std::optional<std::string> host_of_authority(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !is_valid_port(rest.substr(1)))) return std::nullopt;
    // INET6_ADDRSTRLEN - 1 characters at most; inet_pton refuses zone ids ("%25eth0") and IPvFuture ("v1.x").
    std::string literal(authority.substr(1, close - 1));
    if (literal.empty() || literal.size() >= INET6_ADDRSTRLEN) return std::nullopt;
    in6_addr parsed{};
    if (inet_pton(AF_INET6, literal.c_str(), &parsed) != 1) return std::nullopt;
    std::transform(literal.begin(), literal.end(), literal.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    return literal;
  }
  std::string_view host = authority;
  if (const std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    if (!is_valid_port(authority.substr(colon + 1))) return std::nullopt;
    host = authority.substr(0, colon);
  }
  return normalize_hostname(host);
}

// The authority of an absolute-form request target ("http://host:port/path?q"), or nothing when the target is
// in origin form ("/path"), asterisk form or authority form.
std::optional<std::string_view> absolute_form_authority(std::string_view target) {
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (starts_with_ignoring_case(target, scheme)) {
      const std::string_view rest = target.substr(scheme.size());
      return rest.substr(0, rest.find_first_of("/?#"));
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// TLS

constexpr std::uint8_t kHandshakeContentType = 22;
constexpr std::size_t kRecordHeaderSize = 5;
constexpr std::size_t kMaxRecordPayload = 16384;  // 2^14, RFC 8446 §5.1
constexpr std::uint8_t kClientHelloType = 1;
constexpr std::size_t kHandshakeHeaderSize = 4;
constexpr std::size_t kRandomSize = 32;
constexpr std::uint8_t kMaxSessionIdSize = 32;
constexpr std::uint16_t kServerNameExtension = 0;
constexpr std::uint8_t kHostNameType = 0;
constexpr std::uint16_t kEncryptedClientHelloExtension = 0xfe0d;

constexpr std::string_view kHelloTooLarge = "TLS ClientHello over 64 KiB";
constexpr std::string_view kMalformedHello = "malformed TLS ClientHello";

// What the first bytes of a record header (possibly fewer than five) say against a ClientHello record.
std::optional<std::string_view> bad_record_header(std::string_view header, bool first_record) {
  if (header.empty()) return std::nullopt;
  if (static_cast<std::uint8_t>(header[0]) != kHandshakeContentType) {
    return first_record ? "not a TLS handshake record" : "TLS record of another type inside the ClientHello";
  }
  if (header.size() >= 2 && header[1] != 3) return "not a TLS record version";
  if (header.size() >= 3 && static_cast<std::uint8_t>(header[2]) > 4) return "not a TLS record version";
  return std::nullopt;
}

// The server_name extension's data: a list holding exactly one host_name.
PeekResult read_server_name(std::string_view data, bool encrypted_client_hello) {
  ByteReader reader(data);
  std::uint16_t list_size = 0;
  std::uint8_t name_type = 0;
  std::uint16_t name_size = 0;
  std::string_view name;
  if (!reader.read_u16(list_size) || list_size != reader.remaining() || !reader.read_u8(name_type) ||
      !reader.read_u16(name_size) || !reader.read_bytes(name_size, name)) {
    return not_this_protocol("malformed TLS server_name extension");
  }
  if (name_type != kHostNameType) return not_this_protocol("TLS server_name is not a host_name");
  if (reader.remaining() != 0) return not_this_protocol("TLS server_name holds more than one name");
  std::optional<std::string> hostname = normalize_hostname(name);
  if (!hostname) return not_this_protocol("TLS server_name is not a valid hostname");
  return found(std::move(*hostname), encrypted_client_hello);
}

// The ClientHello body (after the 4-byte handshake header), complete.
PeekResult read_client_hello(std::string_view body) {
  ByteReader reader(body);
  std::uint16_t legacy_version = 0;
  std::uint8_t session_id_size = 0;
  std::uint16_t cipher_suites_size = 0;
  std::uint8_t compression_methods_size = 0;
  if (!reader.read_u16(legacy_version) || (legacy_version >> 8) != 3 || !reader.skip(kRandomSize) ||
      !reader.read_u8(session_id_size) || session_id_size > kMaxSessionIdSize ||
      !reader.skip(session_id_size) || !reader.read_u16(cipher_suites_size) || cipher_suites_size == 0 ||
      cipher_suites_size % 2 != 0 || !reader.skip(cipher_suites_size) ||
      !reader.read_u8(compression_methods_size) || compression_methods_size == 0 ||
      !reader.skip(compression_methods_size)) {
    return not_this_protocol(kMalformedHello);
  }
  if (reader.remaining() == 0) return no_hostname("TLS ClientHello without extensions");

  std::uint16_t extensions_size = 0;
  if (!reader.read_u16(extensions_size) || extensions_size != reader.remaining()) {
    return not_this_protocol(kMalformedHello);
  }
  // Two extensions of one type are forbidden (RFC 8446 §4.2) and would let two readers see different names.
  std::bitset<65536> seen;
  std::optional<std::string_view> server_name;
  bool encrypted_client_hello = false;
  while (reader.remaining() > 0) {
    std::uint16_t type = 0;
    std::uint16_t size = 0;
    std::string_view data;
    if (!reader.read_u16(type) || !reader.read_u16(size) || !reader.read_bytes(size, data)) {
      return not_this_protocol(kMalformedHello);
    }
    if (seen.test(type)) return not_this_protocol("TLS ClientHello repeats an extension");
    seen.set(type);
    if (type == kServerNameExtension) server_name = data;
    if (type == kEncryptedClientHelloExtension) encrypted_client_hello = true;
  }
  if (!server_name) return no_hostname("TLS ClientHello without server_name", encrypted_client_hello);
  return read_server_name(*server_name, encrypted_client_hello);
}

}  // namespace

PeekResult HttpHostPeek::settle(PeekResult result) {
  if (result.status != PeekStatus::kNeedMore) verdict_ = result;
  return result;
}

PeekResult HttpHostPeek::peek(std::string_view bytes) {
  if (verdict_) return *verdict_;
  // The caller must pass what it passed before and more; fewer bytes mean the offsets kept are meaningless.
  assert(bytes.size() >= scanned_);
  if (bytes.size() < scanned_) {
    return settle(not_this_protocol("HTTP peek called with fewer bytes than before"));
  }

  // Only the first kHttpHeadLimit bytes can hold the head; when more have arrived and the head has not ended
  // within them, it never will.
  const std::string_view head = bytes.substr(0, kHttpHeadLimit);
  for (; scanned_ < head.size(); ++scanned_) {
    const std::size_t at = scanned_;
    const char c = head[at];
    switch (state_) {
      case State::kMethod:
        if (is_tchar(c)) {
          if (at == kMaxMethodLength) return settle(not_this_protocol("HTTP request method too long"));
        } else if (c == ' ' && at > 0) {
          state_ = State::kTarget;
          target_begin_ = at + 1;
        } else {
          return settle(not_this_protocol("not an HTTP request line"));
        }
        break;
      case State::kTarget:
        if (c == ' ' && at > target_begin_) {
          target_end_ = at;
          state_ = State::kVersion;
        } else if (!is_visible(c)) {
          return settle(not_this_protocol("malformed HTTP request target"));
        }
        break;
      case State::kVersion: {
        const char expected = kRequestLineTail[version_matched_];
        if (expected == '#' ? !is_digit(c) : c != expected) {
          return settle(not_this_protocol("not an HTTP/1.x request line"));
        }
        if (++version_matched_ == kRequestLineTail.size()) state_ = State::kLineStart;
        break;
      }
      case State::kLineStart:
        if (c == '\r') {
          state_ = State::kHeadEnd;
        } else if (c == ' ' || c == '\t') {
          return settle(not_this_protocol("obsolete HTTP header line folding"));
        } else if (is_tchar(c)) {
          name_begin_ = at;
          state_ = State::kName;
        } else {
          return settle(not_this_protocol("malformed HTTP header line"));
        }
        break;
      case State::kName:
        if (c == ':') {
          value_begin_ = at + 1;
          state_ = State::kValue;
        } else if (!is_tchar(c)) {
          return settle(not_this_protocol("malformed HTTP header name"));
        }
        break;
      case State::kValue:
        if (c == '\r') {
          value_end_ = at;
          state_ = State::kLineEnd;
        } else if (!is_field_value_char(c)) {
          return settle(not_this_protocol("control character in an HTTP header"));
        }
        break;
      case State::kLineEnd:
        if (c != '\n') return settle(not_this_protocol("malformed HTTP line end"));
        if (iequals(head.substr(name_begin_, value_begin_ - 1 - name_begin_), "host")) {
          if (host_seen_) return settle(not_this_protocol("more than one HTTP Host header"));
          host_seen_ = true;
          host_begin_ = value_begin_;
          host_end_ = value_end_;
        }
        state_ = State::kLineStart;
        break;
      case State::kHeadEnd:
        if (c != '\n') return settle(not_this_protocol("malformed HTTP line end"));
        return settle(host_of_head(head));
    }
  }
  return bytes.size() >= kHttpHeadLimit ? settle(not_this_protocol(kHeadTooLarge)) : need_more();
}

// The verdict for a complete, well-formed head.
PeekResult HttpHostPeek::host_of_head(std::string_view head) const {
  const std::string_view target = head.substr(target_begin_, target_end_ - target_begin_);
  std::string_view authority;
  if (std::optional<std::string_view> target_authority = absolute_form_authority(target)) {
    if (target_authority->find('@') != std::string_view::npos) {
      return not_this_protocol("userinfo in an HTTP request target");
    }
    authority = *target_authority;
    if (authority.empty()) return not_this_protocol("HTTP request target without a host");
  } else {
    authority = host_seen_ ? trim_spaces_and_tabs(head.substr(host_begin_, host_end_ - host_begin_)) : "";
    if (authority.empty()) return no_hostname("HTTP request without a Host header");
  }
  std::optional<std::string> host = host_of_authority(authority);
  if (!host) return not_this_protocol("HTTP host is not a hostname or an IP literal");
  return found(std::move(*host));
}

PeekResult TlsSniPeek::settle(PeekResult result) {
  if (result.status != PeekStatus::kNeedMore) verdict_ = result;
  return result;
}

PeekResult TlsSniPeek::peek(std::string_view bytes) {
  if (verdict_) return *verdict_;
  assert(bytes.size() >= next_record_);
  if (bytes.size() < next_record_) {
    return settle(not_this_protocol("TLS peek called with fewer bytes than before"));
  }

  const bool past_limit = bytes.size() >= kClientHelloLimit;
  bytes = bytes.substr(0, kClientHelloLimit);
  // Each complete record's payload is copied into joined_ once; a record still arriving is only looked at.
  while (true) {
    const std::string_view record = bytes.substr(next_record_);
    if (auto bad = bad_record_header(record.substr(0, kRecordHeaderSize), next_record_ == 0)) {
      return settle(not_this_protocol(*bad));
    }
    if (record.size() < kRecordHeaderSize) break;
    const std::size_t length = (static_cast<std::size_t>(static_cast<std::uint8_t>(record[3])) << 8) |
                               static_cast<std::uint8_t>(record[4]);
    if (length == 0 || length > kMaxRecordPayload) {
      return settle(not_this_protocol("TLS record length out of range"));
    }
    const std::string_view payload = record.substr(kRecordHeaderSize, length);  // may be partial

    // The handshake header: the first four of the joined payloads and this one.
    std::array<std::uint8_t, kHandshakeHeaderSize> header{};
    const std::size_t available = joined_.size() + payload.size();
    for (std::size_t i = 0; i < header.size() && i < available; ++i) {
      header[i] = static_cast<std::uint8_t>(i < joined_.size() ? joined_[i] : payload[i - joined_.size()]);
    }
    if (available >= 1 && header[0] != kClientHelloType) {
      return settle(not_this_protocol("first TLS handshake message is not a ClientHello"));
    }
    if (available >= kHandshakeHeaderSize) {
      const std::size_t hello_size =
          (std::size_t{header[1]} << 16) | (std::size_t{header[2]} << 8) | header[3];
      // Even in one record the hello and its two headers would not fit under the cap.
      if (kRecordHeaderSize + kHandshakeHeaderSize + hello_size > kClientHelloLimit) {
        return settle(not_this_protocol(kHelloTooLarge));
      }
      const std::size_t message_size = kHandshakeHeaderSize + hello_size;
      if (available >= message_size) {
        if (joined_.empty()) {
          return settle(read_client_hello(payload.substr(kHandshakeHeaderSize, hello_size)));
        }
        joined_.append(payload.substr(0, message_size - joined_.size()));
        return settle(read_client_hello(std::string_view(joined_).substr(kHandshakeHeaderSize, hello_size)));
      }
    }
    if (payload.size() < length) break;
    joined_.append(payload);
    next_record_ += kRecordHeaderSize + length;
  }
  return past_limit ? settle(not_this_protocol(kHelloTooLarge)) : need_more();
}

PeekResult peek_http_host(std::string_view bytes) {
  return HttpHostPeek().peek(bytes);
}

PeekResult peek_tls_sni(std::string_view bytes) {
  return TlsSniPeek().peek(bytes);
}

}  // namespace cellblock::net
