#pragma once
// Parsing of MIME header values of the shape `type; key=value; key="quoted value"` (RFC 2045 §5.1, RFC 6266,
// RFC 7578), shared by the Content-Type boundary lookup and the multipart part headers.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cellblock::http {

struct HeaderValue {
  std::string type;  // as sent, e.g. "form-data" or "multipart/form-data"
  // Parameter names are lower-cased; values are unquoted. `key*` parameters (RFC 5987) are kept under their
  // own name ("filename*") with the raw ext-value; decode them with decode_ext_value().
  std::vector<std::pair<std::string, std::string>> params;

  // The first parameter of that (lower-case) name.
  const std::string* param(std::string_view name) const;
};

Result<HeaderValue> parse_header_value(std::string_view value);

// Decodes an RFC 5987 ext-value `charset'[language]'pct-encoded` into UTF-8 (UTF-8, US-ASCII and ISO-8859-1).
Result<std::string> decode_ext_value(std::string_view ext_value);

bool is_token_char(char c);
std::string ascii_lower(std::string_view text);

}  // namespace cellblock::http
