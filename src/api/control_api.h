#pragma once
// The E2B control plane (e2b-api.md §3, e2b-lifecycle.md): checks the API key, matches the route
// (control_routes.h), parses the request into a typed command (control_requests.h), calls sandbox/, and
// writes E2B's response shapes (control_responses.h). It owns no state. Every error is E2B's {code, message}
// through the one mapping of common/error.h.

#include <string>

#include "api/control_routes.h"
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

  // Answers a control-plane request (anything that is not sandbox traffic or the web app).
  asio::awaitable<void> handle(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);

 private:
  // The answer to one matched route; errors come back as values and are written by handle().
  asio::awaitable<Result<http::Response>> dispatch(const ControlRoute& route, http::Request& request,
                                                   http::BodyReader& body);
  asio::awaitable<Result<http::Response>> create(http::BodyReader& body, bool v1);
  asio::awaitable<Result<http::Response>> connect(const std::string& id, http::BodyReader& body);
  asio::awaitable<Result<http::Response>> resume(const std::string& id, http::BodyReader& body);
  asio::awaitable<Result<http::Response>> pause(const std::string& id, http::BodyReader& body);
  asio::awaitable<Result<http::Response>> set_timeout(const std::string& id, http::BodyReader& body);
  asio::awaitable<Result<http::Response>> update_network(const std::string& id, http::BodyReader& body);
  asio::awaitable<Result<http::Response>> create_snapshot(const std::string& id, http::BodyReader& body);
  Result<http::Response> list_snapshots(const http::Request& request);
  asio::awaitable<Result<http::Response>> delete_template(const std::string& id);
  Result<http::Response> template_alias(const std::string& alias) const;

  sandbox::SandboxManager& sandboxes_;
  store::ApiKeyStore& keys_;
  ApiSettings settings_;
};

}  // namespace cellblock::api
