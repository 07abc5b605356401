#pragma once
// The artifacts app's server side (docs/web-api.md): the embedded web page, login and sessions, the chat
// turn stream, hand-run cells, conversation history and the user's sandbox files. Runs on the server's
// executor, like every other handler.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "app/auth.h"
#include "app/chat_kernels.h"
#include "app/live_stream.h"
#include "app/user_sandbox.h"
#include "chat/provider_settings.h"
#include "http/exchange.h"
#include "http/proxy.h"
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

  // True for the paths this app answers: /, /login, /api/…, /assets/… and other embedded files.
  static bool owns(const http::Request& request);
  asio::awaitable<void> handle(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);

  // Asks every provider for its models (replacing the configured lists when that works); call once at start.
  asio::awaitable<void> discover_models();

  // Tells every running turn to stop (the server is shutting down).
  void stop();

 private:
  struct LiveTurn {
    std::string user;
    std::shared_ptr<LiveStream> stream;
  };
  // The running turn of chat `id` if `who` may see it.
  const LiveTurn* live_turn(const Principal& who, std::string_view id) const;
  asio::awaitable<void> route_api(const Principal& who, http::Request& request, http::BodyReader& body,
                                  http::ResponseWriter& writer);
  asio::awaitable<void> serve_asset(const http::Request& request, http::ResponseWriter& writer);
  asio::awaitable<void> login_link(const http::Request& request, http::ResponseWriter& writer);
  asio::awaitable<void> login(const http::Request& request, http::BodyReader& body,
                              http::ResponseWriter& writer);
  asio::awaitable<void> config(const Principal& who, http::ResponseWriter& writer);
  asio::awaitable<void> list_chats(const Principal& who, http::ResponseWriter& writer);
  asio::awaitable<void> chat_detail(const Principal& who, const std::string& id,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> delete_chat(const Principal& who, const std::string& id,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> chat_turn(const Principal& who, http::BodyReader& body, http::ResponseWriter& writer);
  asio::awaitable<void> resume_turn(const Principal& who, const std::string& id,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> stop_turn(const Principal& who, const std::string& id, http::ResponseWriter& writer);
  asio::awaitable<void> run_cell(const Principal& who, http::BodyReader& body, http::ResponseWriter& writer);
  asio::awaitable<void> list_files(const Principal& who, const http::Request& request,
                                   http::ResponseWriter& writer);
  asio::awaitable<void> upload_file(const Principal& who, http::Request& request, http::BodyReader& body,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> download_file(const Principal& who, const http::Request& request,
                                      http::ResponseWriter& writer);

  const chat::ProviderSettings* provider_for(std::string_view model_ref, std::string& model) const;
  // Asks one provider for its models; false when it could not be asked.
  asio::awaitable<bool> discover(chat::ProviderSettings& provider);

  Auth& auth_;
  store::ChatStore& chats_;
  UserSandboxes& sandboxes_;
  ChatKernels& kernels_;
  AppSettings settings_;
  // Turns running now, by chat id: a second turn of one chat waits for none, it is refused.
  std::map<std::string, LiveTurn, std::less<>> live_turns_;
};

}  // namespace cellblock::app
