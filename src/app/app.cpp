#include "app/app.h"

#include <optional>

namespace cellblock::app {

namespace {

constexpr std::string_view kIdParameter = "{id}";

// The {id} of `path` when it matches `pattern` ("/api/chat/{id}/stop"); nullopt when it does not.
std::optional<std::string> match_path(std::string_view pattern, std::string_view path) {
  auto parameter = pattern.find(kIdParameter);
  if (parameter == std::string_view::npos) {
    return path == pattern ? std::optional<std::string>(std::string()) : std::nullopt;
  }
  std::string_view prefix = pattern.substr(0, parameter);
  std::string_view suffix = pattern.substr(parameter + kIdParameter.size());
  if (!path.starts_with(prefix) || !path.ends_with(suffix)) return std::nullopt;
  if (path.size() <= prefix.size() + suffix.size()) return std::string();
  return std::string(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
}

}  // namespace

App::App(Auth& auth, store::ChatStore& chats, UserSandboxes& sandboxes, ChatKernels& kernels,
         AppSettings settings)
    : auth_(auth),
      models_(std::move(settings.providers), std::move(settings.provider_ca_file)),
      session_(auth, models_),
      chats_(chats, sandboxes, kernels, models_),
      files_(sandboxes),
      routes_(api_routes()) {}

// Every API route, in the order they are tried.
std::vector<App::ApiRoute> App::api_routes() {
  return {
      {"GET", "/api/session", [this](ApiCall& c) { return session_.session(c.who, c.writer); }},
      {"POST", "/api/logout", [this](ApiCall& c) { return session_.logout(c.request, c.writer); }},
      {"GET", "/api/config", [this](ApiCall& c) { return session_.config(c.who, c.writer); }},
      {"GET", "/api/chats", [this](ApiCall& c) { return chats_.list_chats(c.who, c.writer); }},
      {"GET", "/api/chats/{id}", [this](ApiCall& c) { return chats_.chat_detail(c.who, c.id, c.writer); }},
      {"DELETE", "/api/chats/{id}", [this](ApiCall& c) { return chats_.delete_chat(c.who, c.id, c.writer); }},
      {"POST", "/api/chat", [this](ApiCall& c) { return chats_.chat_turn(c.who, c.body, c.writer); }},
      {"GET", "/api/chat/{id}/stream",
       [this](ApiCall& c) { return chats_.resume_turn(c.who, c.id, c.writer); }},
      {"POST", "/api/chat/{id}/stop", [this](ApiCall& c) { return chats_.stop_turn(c.who, c.id, c.writer); }},
      {"POST", "/api/run", [this](ApiCall& c) { return chats_.run_cell(c.who, c.body, c.writer); }},
      {"GET", "/api/files", [this](ApiCall& c) { return files_.list_files(c.who, c.request, c.writer); }},
      {"POST", "/api/files",
       [this](ApiCall& c) { return files_.upload_file(c.who, c.request, c.body, c.writer); }},
      {"GET", "/api/files/download",
       [this](ApiCall& c) { return files_.download_file(c.who, c.request, c.writer); }},
  };
}

bool App::owns(const http::Request& request) {
  const std::string& path = request.path;
  return path == "/" || path == "/login" || path.starts_with("/api/") || path.starts_with("/assets/") ||
         AssetRoutes::has(path);
}

asio::awaitable<void> App::handle(http::Request& request, http::BodyReader& body,
                                  http::ResponseWriter& writer) {
  if (request.path == "/login") {
    co_await session_.login_link(request, writer);
  } else if (!request.path.starts_with("/api/")) {
    co_await assets_.serve(request, writer);
  } else if (request.path == "/api/login" && request.method == "POST") {
    co_await session_.login(request, body, writer);
  } else {
    co_await route_api(request, body, writer);
  }
}

asio::awaitable<void> App::route_api(http::Request& request, http::BodyReader& body,
                                     http::ResponseWriter& writer) {
  auto who = auth_.authenticate(request);
  if (!who) {
    co_await writer.send(http::error_response(who.error()));
    co_return;
  }
  for (const ApiRoute& route : routes_) {
    if (route.method != request.method) continue;
    auto id = match_path(route.path, request.path);
    if (!id) continue;
    ApiCall call{*who, request, body, writer, std::move(*id)};
    co_await route.handler(call);
    co_return;
  }
  co_await writer.send(http::error_response(ErrorCode::kNotFound,
                                            "no such API route: " + request.method + " " + request.path));
}

asio::awaitable<void> App::discover_models() {
  co_await models_.discover_all();
}

void App::stop() {
  chats_.stop();
}

}  // namespace cellblock::app
