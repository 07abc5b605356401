#pragma once
// Who may use the app: scripts send an API key (`X-API-KEY`); people get a browser session (an HttpOnly,
// SameSite=Strict cookie) by presenting the login token printed at start (as Jupyter does) or an API key.
// The app is a single-user product for now: every authenticated request acts as the user "local", unless a
// script names another user.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"
#include "http/exchange.h"
#include "store/api_key_store.h"
#include "store/session_store.h"

namespace cellblock::app {

inline constexpr std::string_view kSessionCookie = "cellblock_session";
inline constexpr std::string_view kLocalUser = "local";

struct Principal {
  std::string user;
  bool by_api_key = false;  // scripts may act for another user (the request's userID)
};

class Auth {
 public:
  Auth(store::SessionStore& sessions, store::ApiKeyStore& keys, std::string login_token);

  // The caller of a request: a valid session cookie or API key; kUnauthenticated otherwise. A cross-site
  // request carrying the cookie (an Origin that is not this server) is refused with kPermissionDenied.
  Result<Principal> authenticate(const http::Request& request);
  // Exchanges the login token or an API key for a new session: the Set-Cookie header value.
  Result<std::string> login(std::string_view token, bool secure);
  // Ends the request's session (if any): the Set-Cookie header value that clears the cookie.
  std::string logout(const http::Request& request);

  const std::string& login_token() const { return login_token_; }

 private:
  store::SessionStore& sessions_;
  store::ApiKeyStore& keys_;
  std::string login_token_;
};

// The value of one cookie of the request.
std::optional<std::string_view> cookie_value(const http::Request& request, std::string_view name);
// A login token for this start of the server: CELLBLOCK_LOGIN_TOKEN when set, random otherwise.
std::string make_login_token();

}  // namespace cellblock::app
