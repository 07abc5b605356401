#include "http/codec/header_params.h"

#include <cstring>

namespace cellblock::http {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t';
}

// RFC 2045 tspecials: the only characters a backslash is taken to escape inside a quoted string.
bool is_tspecial(char c) {
  return c != '\0' && std::strchr("()<>@,;:\\\"/[]?=", c) != nullptr;
}

void skip_spaces(std::string_view text, std::size_t& i) {
  while (i < text.size() && is_space(text[i])) ++i;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

// A quoted string starting at text[i] == '"'. A backslash escapes only a tspecial: browsers and old clients
// send Windows paths like "C:\dir\a.txt" with bare backslashes, which must stay literal.
Result<std::string> read_quoted(std::string_view text, std::size_t& i) {
  std::string out;
  for (++i; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      ++i;
      return out;
    }
    if (c == '\\' && i + 1 < text.size() && is_tspecial(text[i + 1])) {
      out.push_back(text[++i]);
      continue;
    }
    out.push_back(c);
  }
  return fail(ErrorCode::kInvalidArgument, "unterminated quoted string in header value");
}

// An unquoted value runs to the next ';'. RFC 2045 wants a token, but real clients send bare boundaries with
// characters such as '=' or ':', so anything but ';' is accepted.
std::string read_bare(std::string_view text, std::size_t& i) {
  const std::size_t start = i;
  while (i < text.size() && text[i] != ';') ++i;
  return std::string(trim(text.substr(start, i - start)));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      out.push_back(c);
    } else {
      out.push_back(static_cast<char>(0xc0 | (byte >> 6)));
      out.push_back(static_cast<char>(0x80 | (byte & 0x3f)));
    }
  }
  return out;
}

}  // namespace

bool is_token_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  return byte > 0x20 && byte < 0x7f && !is_tspecial(c);
}

std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

const std::string* HeaderValue::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return &value;
  }
  return nullptr;
}

Result<HeaderValue> parse_header_value(std::string_view value) {
  HeaderValue result;
  std::size_t i = value.find(';');
  result.type = std::string(trim(value.substr(0, i)));
  if (result.type.empty())
    return fail(ErrorCode::kInvalidArgument, "header value has no type before its parameters");
  while (i < value.size()) {
    ++i;  // the ';'
    skip_spaces(value, i);
    if (i == value.size()) break;  // a trailing ';' is harmless
    const std::size_t key_start = i;
    while (i < value.size() && is_token_char(value[i])) ++i;
    std::string key = ascii_lower(value.substr(key_start, i - key_start));
    skip_spaces(value, i);
    if (key.empty() || i == value.size() || value[i] != '=') {
      return fail(ErrorCode::kInvalidArgument,
                  "malformed parameter in header value '" + std::string(value) + "'");
    }
    ++i;
    skip_spaces(value, i);
    std::string param_value;
    if (i < value.size() && value[i] == '"') {
      auto quoted = read_quoted(value, i);
      if (!quoted) return tl::unexpected(quoted.error());
      param_value = std::move(*quoted);
      skip_spaces(value, i);
      if (i < value.size() && value[i] != ';') {
        return fail(ErrorCode::kInvalidArgument,
                    "unexpected text after quoted parameter '" + key + "' in header value");
      }
    } else {
      param_value = read_bare(value, i);
    }
    result.params.emplace_back(std::move(key), std::move(param_value));
  }
  return result;
}

Result<std::string> decode_ext_value(std::string_view ext_value) {
  const std::size_t first = ext_value.find('\'');
  const std::size_t second = first == std::string_view::npos ? first : ext_value.find('\'', first + 1);
  if (second == std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "malformed RFC 5987 value (expected charset'language'value)");
  }
  const std::string charset = ascii_lower(ext_value.substr(0, first));
  const std::string_view encoded = ext_value.substr(second + 1);
  std::string bytes;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      bytes.push_back(encoded[i]);
      continue;
    }
    const int high = i + 2 < encoded.size() ? hex_value(encoded[i + 1]) : -1;
    const int low = i + 2 < encoded.size() ? hex_value(encoded[i + 2]) : -1;
    if (high < 0 || low < 0)
      return fail(ErrorCode::kInvalidArgument, "malformed percent escape in RFC 5987 value");
    bytes.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  if (charset == "utf-8" || charset == "us-ascii") return bytes;
  if (charset == "iso-8859-1") return latin1_to_utf8(bytes);
  return fail(ErrorCode::kInvalidArgument, "unsupported charset '" + charset + "' in RFC 5987 value");
}

}  // namespace cellblock::http
