#pragma once
// Who is using the app and what it offers them: GET /login?token= (the login link printed at start: a session
// cookie, then the page), POST /api/login (a token or an API key for a session), GET /api/session, POST
// /api/logout, and GET /api/config (the providers and their models).

#include <boost/asio/awaitable.hpp>

#include "app/auth.h"
#include "app/model_catalog.h"
#include "http/exchange.h"

namespace cellblock::app {

class SessionRoutes {
 public:
  SessionRoutes(Auth& auth, ModelCatalog& models) : auth_(auth), models_(models) {}

  // Public: these two are how a session starts.
  asio::awaitable<void> login_link(const http::Request& request, http::ResponseWriter& writer);
  asio::awaitable<void> login(const http::Request& request, http::BodyReader& body,
                              http::ResponseWriter& writer);

  asio::awaitable<void> session(const Principal& who, http::ResponseWriter& writer);
  asio::awaitable<void> logout(const http::Request& request, http::ResponseWriter& writer);
  asio::awaitable<void> config(const Principal& who, http::ResponseWriter& writer);

 private:
  Auth& auth_;
  ModelCatalog& models_;
};

}  // namespace cellblock::app
