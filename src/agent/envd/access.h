#pragma once
// envd's access control (e2b-api.md §2.5): the sandbox's access token in `X-Access-Token`, or for /files a
// URL signature derived from it. Without a configured token everything is open (standalone debug mode).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "common/file_signature.h"
#include "http/exchange.h"

namespace cellblock::agent {

class AccessPolicy {
 public:
  explicit AccessPolicy(std::optional<std::string> token = std::nullopt) : token_(std::move(token)) {}

  // POST /init gives a pooled sandbox its token when a user claims it.
  void set_token(std::string token) { token_ = std::move(token); }
  bool has_token() const { return token_.has_value(); }

  // Every envd route except /health and /files, and the interpreter's /execute.
  Status check_token(const http::Request& request) const;
  // GET /files (operation "read") and POST /files ("write"): the token, or (without a token header) a valid
  // unexpired signature. Refusals carry envd's messages: "access token present in header but does not match",
  // "missing signature query parameter", "invalid signature", "signature is already expired".
  Status check_file_access(const http::Request& request, std::string_view operation,
                           std::int64_t now_unix) const;

 private:
  std::optional<std::string> token_;
};

}  // namespace cellblock::agent
