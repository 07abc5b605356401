#pragma once
// The artifacts app's server side (docs/web-api.md): a thin router in front of the route families. The page's
// files and the login link are public; everything under /api/ (but POST /api/login) needs a session or an API
// key, and then goes through one route table to the family that answers it:
//   AssetRoutes   (asset_routes.h)   the embedded page: /, /assets/…
//   SessionRoutes (session_routes.h) login link and login, session, logout, the providers and models (config)
//   ChatRoutes    (chat_routes.h)    conversations, chat turns (start, follow, stop), hand-run cells
//   FileRoutes    (file_routes.h)    the user's sandbox files: list, upload, download
// Runs on the server's executor, like every other handler.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "app/asset_routes.h"
#include "app/auth.h"
#include "app/chat_kernels.h"
#include "app/chat_routes.h"
#include "app/file_routes.h"
#include "app/model_catalog.h"
#include "app/session_routes.h"
#include "app/user_sandbox.h"
#include "chat/provider_settings.h"
#include "http/exchange.h"
#include "store/chat_store.h"

namespace cellblock::app {

struct AppSettings {
  std::vector<chat::ProviderSettings> providers;
  std::string provider_ca_file;  // extra trusted CA for providers (tests)
};

class App {
 public:
  App(Auth& auth, store::ChatStore& chats, UserSandboxes& sandboxes, ChatKernels& kernels,
      AppSettings settings);
  App(const App&) = delete;  // the route table points at this object
  App& operator=(const App&) = delete;

  // True for the paths this app answers: /, /login, /api/…, /assets/… and other embedded files.
  static bool owns(const http::Request& request);
  asio::awaitable<void> handle(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);

  // Asks every provider for its models (replacing the configured lists when that works); call once at start.
  asio::awaitable<void> discover_models();

  // Tells every running turn to stop (the server is shutting down).
  void stop();

 private:
  // One authenticated API request as a route sees it.
  struct ApiCall {
    const Principal& who;
    http::Request& request;
    http::BodyReader& body;
    http::ResponseWriter& writer;
    std::string id;  // what stands at {id} in the route's path ("" when nothing does, or it has none)
  };
  struct ApiRoute {
    std::string_view method;
    std::string_view path;  // "/api/chats/{id}": {id} matches anything, "/" and nothing included
    std::function<asio::awaitable<void>(ApiCall& call)> handler;
  };
  std::vector<ApiRoute> api_routes();
  asio::awaitable<void> route_api(http::Request& request, http::BodyReader& body,
                                  http::ResponseWriter& writer);

  Auth& auth_;
  ModelCatalog models_;
  AssetRoutes assets_;
  SessionRoutes session_;
  ChatRoutes chats_;
  FileRoutes files_;
  const std::vector<ApiRoute> routes_;
};

}  // namespace cellblock::app
