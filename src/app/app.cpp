#include "app/app.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "app/assets.h"
#include "app/handler_json.h"
#include "chat/provider_client.h"
#include "common/encoding.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::size_t kSmallBodyLimit = 64 * 1024;

// The {id} of "<prefix>{id}<suffix>"; "" when nothing is between them.
std::string turn_id(std::string_view path, std::string_view prefix, std::string_view suffix) {
  if (path.size() <= prefix.size() + suffix.size()) return {};
  return std::string(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
}

const char* kLoginFailedPage =
    "<!doctype html><meta charset=utf-8><title>cellblock: login failed</title>"
    "<body style=\"font-family:system-ui;max-width:36rem;margin:4rem auto\"><h1>Wrong or expired login "
    "link</h1>"
    "<p>Open the login link that <code>cellblock serve</code> printed when it started, or sign in with an "
    "API "
    "key on the <a href=\"/\">start page</a>.</p></body>";

json::object chat_summary_json(const store::ChatSummary& chat) {
  return json::object{{"id", chat.id},
                      {"title", chat.title},
                      {"model", chat.model},
                      {"createdAt", rfc3339(chat.created_at)},
                      {"updatedAt", rfc3339(chat.updated_at)}};
}

// OpenAI's model list also holds embedding, audio, image and moderation models.
// Behind a TLS-terminating proxy the cookie must be Secure; the proxy says so in X-Forwarded-Proto.
bool served_over_https(const http::Request& request) {
  auto proto = request.header("X-Forwarded-Proto");
  return proto && http::iequals(*proto, "https");
}

bool not_a_chat_model(const std::string& id) {
  bool chat = id.starts_with("gpt-") || id.starts_with("chatgpt-") ||
              (id.size() > 1 && id[0] == 'o' && id[1] >= '1' && id[1] <= '9');
  bool special = id.find("audio") != std::string::npos || id.find("realtime") != std::string::npos ||
                 id.find("transcribe") != std::string::npos || id.find("tts") != std::string::npos ||
                 id.find("image") != std::string::npos || id.find("search") != std::string::npos;
  return !chat || special;
}

}  // namespace

App::App(Auth& auth, store::ChatStore& chats, UserSandboxes& sandboxes, ChatKernels& kernels,
         AppSettings settings)
    : auth_(auth), chats_(chats), sandboxes_(sandboxes), kernels_(kernels), settings_(std::move(settings)) {}

bool App::owns(const http::Request& request) {
  const std::string& path = request.path;
  return path == "/" || path == "/login" || path.starts_with("/api/") || path.starts_with("/assets/") ||
         find_asset(path) != nullptr;
}

asio::awaitable<void> App::handle(http::Request& request, http::BodyReader& body,
                                  http::ResponseWriter& writer) {
  if (request.path == "/login") {
    co_await login_link(request, writer);
    co_return;
  }
  if (!request.path.starts_with("/api/")) {
    co_await serve_asset(request, writer);
    co_return;
  }
  if (request.path == "/api/login" && request.method == "POST") {
    co_await login(request, body, writer);
    co_return;
  }
  auto who = auth_.authenticate(request);
  if (!who) {
    co_await writer.send(http::error_response(who.error()));
    co_return;
  }
  co_await route_api(*who, request, body, writer);
}

asio::awaitable<void> App::route_api(const Principal& who, http::Request& request, http::BodyReader& body,
                                     http::ResponseWriter& writer) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  constexpr std::string_view kChatPrefix = "/api/chats/";
  constexpr std::string_view kTurnPrefix = "/api/chat/";  // {id}/stream, {id}/stop
  if (path == "/api/session" && method == "GET") {
    json::object session{{"user", who.user}};
    co_await writer.send(http::json_response(200, json::serialize(session)));
  } else if (path == "/api/logout" && method == "POST") {
    http::Response response;
    response.status = 204;
    response.headers.add("Set-Cookie", auth_.logout(request));
    co_await writer.send(std::move(response));
  } else if (path == "/api/config" && method == "GET") {
    co_await config(who, writer);
  } else if (path == "/api/chats" && method == "GET") {
    co_await list_chats(who, writer);
  } else if (path.starts_with(kChatPrefix) && method == "GET") {
    co_await chat_detail(who, path.substr(kChatPrefix.size()), writer);
  } else if (path.starts_with(kChatPrefix) && method == "DELETE") {
    co_await delete_chat(who, path.substr(kChatPrefix.size()), writer);
  } else if (path == "/api/chat" && method == "POST") {
    co_await chat_turn(who, body, writer);
  } else if (path.starts_with(kTurnPrefix) && path.ends_with("/stream") && method == "GET") {
    co_await resume_turn(who, turn_id(path, kTurnPrefix, "/stream"), writer);
  } else if (path.starts_with(kTurnPrefix) && path.ends_with("/stop") && method == "POST") {
    co_await stop_turn(who, turn_id(path, kTurnPrefix, "/stop"), writer);
  } else if (path == "/api/run" && method == "POST") {
    co_await run_cell(who, body, writer);
  } else if (path == "/api/files" && method == "GET") {
    co_await list_files(who, request, writer);
  } else if (path == "/api/files" && method == "POST") {
    co_await upload_file(who, request, body, writer);
  } else if (path == "/api/files/download" && method == "GET") {
    co_await download_file(who, request, writer);
  } else {
    co_await writer.send(
        http::error_response(ErrorCode::kNotFound, "no such API route: " + method + " " + path));
  }
}

asio::awaitable<void> App::serve_asset(const http::Request& request, http::ResponseWriter& writer) {
  if (request.method != "GET" && request.method != "HEAD") {
    co_await writer.send(
        http::error_response(ErrorCode::kMethodNotAllowed, "only GET serves the app's files"));
    co_return;
  }
  const Asset* asset = find_asset(request.path);
  if (asset == nullptr) {
    co_await writer.send(http::error_response(ErrorCode::kNotFound, "no such file: " + request.path));
    co_return;
  }
  http::Response response;
  response.headers.add("ETag", std::string(asset->etag));
  response.headers.add("Cache-Control",
                       asset->immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.headers.add("X-Content-Type-Options", "nosniff");
  if (asset->content_type.starts_with("text/html")) {
    // The page talks only to this server; model output never runs as script in it.
    response.headers.add("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                         "frame-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'");
    response.headers.add("Referrer-Policy", "no-referrer");
  }
  if (auto match = request.header("If-None-Match"); match && *match == asset->etag) {
    response.status = 304;
    co_await writer.send(std::move(response));
    co_return;
  }
  response.status = 200;
  response.headers.add("Content-Type", std::string(asset->content_type));
  if (request.method == "GET") response.body = std::string(asset->body);
  co_await writer.send(std::move(response));
}

asio::awaitable<void> App::login_link(const http::Request& request, http::ResponseWriter& writer) {
  auto token = request.query_value("token");
  auto cookie = token ? auth_.login(*token, served_over_https(request))
                      : Result<std::string>(fail(ErrorCode::kUnauthenticated, "no token"));
  http::Response response;
  if (!cookie) {
    response.status = 401;
    response.headers.add("Content-Type", "text/html; charset=utf-8");
    response.body = kLoginFailedPage;
  } else {
    response.status = 303;
    response.headers.add("Set-Cookie", *cookie);
    response.headers.add("Location", "/");
  }
  response.headers.add("Cache-Control", "no-store");
  response.headers.add("Referrer-Policy", "no-referrer");
  co_await writer.send(std::move(response));
}

asio::awaitable<void> App::login(const http::Request& request, http::BodyReader& body,
                                 http::ResponseWriter& writer) {
  auto object = co_await read_json_object(body, kSmallBodyLimit);
  if (!object) {
    co_await writer.send(http::error_response(object.error()));
    co_return;
  }
  std::string token(string_member(*object, "token"));
  auto cookie = auth_.login(token, served_over_https(request));
  if (!cookie) {
    co_await writer.send(http::error_response(cookie.error()));
    co_return;
  }
  http::Response response;
  response.status = 204;
  response.headers.add("Set-Cookie", *cookie);
  co_await writer.send(std::move(response));
}

asio::awaitable<void> App::config(const Principal& who, http::ResponseWriter& writer) {
  // A local model server started after cellblock: ask again for the models of a provider that offers none.
  for (auto& provider : settings_.providers) {
    if (provider.models.empty()) co_await discover(provider);
  }
  json::array providers;
  std::string default_model;
  for (const auto& provider : settings_.providers) {
    json::array models;
    for (const auto& model : provider.models) models.emplace_back(model);
    if (default_model.empty() && !provider.models.empty()) {
      default_model = provider.id + "/" + provider.models.front();
    }
    providers.push_back(
        json::object{{"id", provider.id}, {"name", provider.name}, {"models", std::move(models)}});
  }
  json::object answer{{"providers", std::move(providers)}, {"user", who.user}};
  if (default_model.empty()) {
    answer["defaultModel"] = nullptr;
  } else {
    answer["defaultModel"] = default_model;
  }
  co_await writer.send(http::json_response(200, json::serialize(answer)));
}

asio::awaitable<void> App::list_chats(const Principal& who, http::ResponseWriter& writer) {
  auto chats = chats_.list_chats(who.user, 200);
  if (!chats) {
    co_await writer.send(http::error_response(chats.error()));
    co_return;
  }
  json::array list;
  for (const auto& chat : *chats) list.push_back(chat_summary_json(chat));
  json::object answer{{"chats", std::move(list)}};
  co_await writer.send(http::json_response(200, json::serialize(answer)));
}

asio::awaitable<void> App::chat_detail(const Principal& who, const std::string& id,
                                       http::ResponseWriter& writer) {
  auto chat = chats_.get_chat(who.user, id);
  auto messages = chat ? chats_.messages(who.user, id) : Result<std::vector<store::StoredMessage>>();
  if (!chat || !messages) {
    Error error = chat ? messages.error() : chat.error();
    co_await writer.send(http::error_response(error));
    co_return;
  }
  json::object answer = chat_summary_json(*chat);
  json::array list;
  for (const auto& message : *messages) list.push_back(ui_message_json(message));
  answer["messages"] = std::move(list);
  answer["answering"] = live_turn(who, id) != nullptr;
  co_await writer.send(http::json_response(200, json::serialize(answer)));
}

asio::awaitable<void> App::delete_chat(const Principal& who, const std::string& id,
                                       http::ResponseWriter& writer) {
  if (auto owned = chats_.get_chat(who.user, id); !owned) {
    co_await writer.send(http::error_response(owned.error()));
    co_return;
  }
  if (const LiveTurn* live = live_turn(who, id)) live->stream->abort_handle()->abort();
  co_await kernels_.remove(id);
  auto deleted = chats_.delete_chat(who.user, id);
  if (!deleted) {
    co_await writer.send(http::error_response(deleted.error()));
    co_return;
  }
  co_await writer.send(no_content());
}

const chat::ProviderSettings* App::provider_for(std::string_view model_ref, std::string& model) const {
  // "<provider>/<model>"; a bare provider id, or nothing at all, means that (the first) provider's default.
  auto slash = model_ref.find('/');
  std::string_view id = model_ref.substr(0, slash);
  for (const auto& provider : settings_.providers) {
    if (!id.empty() && provider.id != id) continue;
    if (slash != std::string_view::npos) {
      model = model_ref.substr(slash + 1);
    } else {
      model = provider.models.empty() ? std::string() : provider.models.front();
    }
    return &provider;
  }
  return nullptr;
}

asio::awaitable<void> App::discover_models() {
  for (auto& provider : settings_.providers) co_await discover(provider);
}

asio::awaitable<bool> App::discover(chat::ProviderSettings& provider) {
  auto models = co_await chat::list_models(provider, settings_.provider_ca_file);
  if (!models || models->empty()) {
    spdlog::warn("chat: cannot list the models of {} ({}); offering {}", provider.name,
                 models ? "empty list" : models.error().message,
                 provider.models.empty() ? "none" : fmt::format("{}", fmt::join(provider.models, ", ")));
    co_return false;
  }
  // OpenAI lists every model it has (embeddings, speech, images): only chat models belong in the picker.
  bool official_openai = provider.base_url.find("api.openai.com") != std::string::npos;
  if (official_openai) std::erase_if(*models, not_a_chat_model);
  // Our guess of a default gives way to the provider's own list (Anthropic's is newest first, a local server
  // lists what it has), except on OpenAI, whose list has no useful order.
  if (!provider.models_named && !official_openai && !models->empty()) provider.models.clear();
  for (auto& model : *models) {
    if (std::find(provider.models.begin(), provider.models.end(), model) == provider.models.end()) {
      provider.models.push_back(std::move(model));
    }
  }
  co_return true;
}

}  // namespace cellblock::app
