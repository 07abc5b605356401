#pragma once
// The E2B control plane (e2b-api.md §3): parses each request into a typed command for sandbox/, checks the
// API key, and writes E2B's response shapes and `{code, message}` errors.

#include <functional>
#include <string>

#include "http/exchange.h"
#include "sandbox/sandbox_manager.h"
#include "store/api_key_store.h"

namespace cellblock::api {

namespace asio = boost::asio;

struct ApiSettings {
  std::string domain;  // returned as `domain` (empty: null, the SDK then uses its configured domain)
};

class ControlApi {
 public:
  ControlApi(sandbox::SandboxManager& sandboxes, store::ApiKeyStore& keys, ApiSettings settings);

  // True when the request is for the control plane (anything that is not sandbox traffic).
  asio::awaitable<void> handle(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);

 private:
  asio::awaitable<void> route(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);
  asio::awaitable<void> create(http::BodyReader& body, http::ResponseWriter& writer, bool legacy);
  asio::awaitable<void> list(const http::Request& request, http::ResponseWriter& writer, bool legacy);
  asio::awaitable<void> connect(const std::string& id, http::BodyReader& body, http::ResponseWriter& writer);
  asio::awaitable<void> set_timeout(const std::string& id, http::BodyReader& body,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> metrics(const std::string& id, const http::Request& request,
                                http::ResponseWriter& writer);

  sandbox::SandboxManager& sandboxes_;
  store::ApiKeyStore& keys_;
  ApiSettings settings_;
};

}  // namespace cellblock::api
