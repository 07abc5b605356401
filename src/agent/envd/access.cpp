#include "agent/envd/access.h"

#include "common/agent_protocol.h"

#include <charconv>

namespace cellblock::agent {
namespace {

Error unauthorized() {
  return Error{ErrorCode::kUnauthenticated,
               "unauthorized access, please provide a valid access token or method signing if supported"};
}

// The SDK signs the path it put into URLSearchParams, i.e. the decoded query value.
std::string_view query_param(const http::Request& request, std::string_view name) {
  return request.query_value(name).value_or(std::string_view{});
}

}  // namespace

Status AccessPolicy::check_token(const http::Request& request) const {
  if (!token_) return {};
  auto given = request.header(agent_protocol::kAccessTokenHeader);
  if (given && secure_equals(*given, *token_)) return {};
  return tl::unexpected(unauthorized());
}

Status AccessPolicy::check_file_access(const http::Request& request, std::string_view operation,
                                       std::int64_t now_unix) const {
  if (!token_) return {};
  if (check_token(request)) return {};
  auto signature = request.query_value("signature");
  if (!signature) return tl::unexpected(unauthorized());
  std::optional<std::int64_t> expiration;
  if (auto text = request.query_value("signature_expiration")) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size()) {
      return fail(ErrorCode::kInvalidArgument, "signature_expiration must be a Unix time in seconds");
    }
    if (value < now_unix) return fail(ErrorCode::kUnauthenticated, "the signature has expired");
    expiration = value;
  }
  auto expected = file_signature(query_param(request, "path"), operation, query_param(request, "username"),
                                 *token_, expiration);
  if (!secure_equals(*signature, expected)) return tl::unexpected(unauthorized());
  return {};
}

}  // namespace cellblock::agent
