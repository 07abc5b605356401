#include "app/auth.h"

#include <cstdlib>

#include <fmt/format.h>
#include <openssl/crypto.h>

#include "common/encoding.h"

namespace cellblock::app {

namespace {

constexpr auto kSessionLifetime = std::chrono::hours(24 * 30);

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Browsers send Origin on cross-site requests; when present it must name the host the request was sent to
// (an opaque "null" origin never does).
bool same_origin(const http::Request& request) {
  auto origin = request.header("Origin");
  if (!origin) return true;
  auto host = request.header("Host");
  if (!host) return false;
  auto scheme_end = origin->find("://");
  if (scheme_end == std::string_view::npos) return false;
  return origin->substr(scheme_end + 3) == *host;
}

}  // namespace

std::optional<std::string_view> cookie_value(const http::Request& request, std::string_view name) {
  for (const auto& [header, value] : request.headers.items()) {
    if (!http::iequals(header, "Cookie")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      auto semicolon = rest.find(';');
      std::string_view pair = rest.substr(0, semicolon);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      auto equals = pair.find('=');
      if (equals != std::string_view::npos && pair.substr(0, equals) == name) return pair.substr(equals + 1);
      if (semicolon == std::string_view::npos) break;
      rest.remove_prefix(semicolon + 1);
    }
  }
  return std::nullopt;
}

std::string make_login_token() {
  if (const char* fixed = std::getenv("CELLBLOCK_LOGIN_TOKEN"); fixed != nullptr && *fixed != '\0')
    return fixed;
  return random_hex(24);
}

Auth::Auth(store::SessionStore& sessions, store::ApiKeyStore& keys, std::string login_token)
    : sessions_(sessions), keys_(keys), login_token_(std::move(login_token)) {}

Result<Principal> Auth::authenticate(const http::Request& request) {
  if (auto key = request.header("X-API-KEY")) {
    auto verified = keys_.verify(*key);
    if (!verified) return fail(ErrorCode::kUnauthenticated, "invalid API key");
    return Principal{std::string(kLocalUser), true};
  }
  auto token = cookie_value(request, kSessionCookie);
  if (!token)
    return fail(ErrorCode::kUnauthenticated, "log in first: open the login link `cellblock serve` printed");
  if (!same_origin(request)) return fail(ErrorCode::kPermissionDenied, "cross-site request refused");
  auto user = sessions_.verify(*token);
  if (!user) return fail(ErrorCode::kUnauthenticated, "the session has expired: log in again");
  return Principal{*user, false};
}

Result<std::string> Auth::login(std::string_view token, bool secure) {
  bool valid = same_secret(token, login_token_) || keys_.verify(token).has_value();
  if (!valid) return fail(ErrorCode::kUnauthenticated, "wrong login token");
  auto session = sessions_.create(std::string(kLocalUser), kSessionLifetime);
  if (!session) return tl::unexpected(session.error());
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(kSessionLifetime).count();
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kSessionCookie, *session,
                     seconds, secure ? "; Secure" : "");
}

std::string Auth::logout(const http::Request& request) {
  if (auto token = cookie_value(request, kSessionCookie)) (void)sessions_.revoke(*token);
  return fmt::format("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict", kSessionCookie);
}

}  // namespace cellblock::app
