#include "app/session_routes.h"

#include "app/handler_json.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::size_t kSmallBodyLimit = 64 * 1024;

const char* kLoginFailedPage =
    "<!doctype html><meta charset=utf-8><title>cellblock: login failed</title>"
    "<body style=\"font-family:system-ui;max-width:36rem;margin:4rem auto\"><h1>Wrong or expired login "
    "link</h1>"
    "<p>Open the login link that <code>cellblock serve</code> printed when it started, or sign in with an "
    "API "
    "key on the <a href=\"/\">start page</a>.</p></body>";

// Behind a TLS-terminating proxy the cookie must be Secure; the proxy says so in X-Forwarded-Proto.
bool served_over_https(const http::Request& request) {
  auto proto = request.header("X-Forwarded-Proto");
  return proto && http::iequals(*proto, "https");
}

// The page's model picker: each provider with its models.
json::array providers_json(const std::vector<chat::ProviderSettings>& providers) {
  json::array list;
  for (const auto& provider : providers) {
    json::array models;
    for (const auto& model : provider.models) models.emplace_back(model);
    list.push_back(json::object{{"id", provider.id}, {"name", provider.name}, {"models", std::move(models)}});
  }
  return list;
}

// The model the page starts with: the first one listed; null when no provider lists any.
json::value default_model_json(const std::vector<chat::ProviderSettings>& providers) {
  for (const auto& provider : providers) {
    if (!provider.models.empty()) return json::value(provider.id + "/" + provider.models.front());
  }
  return nullptr;
}

}  // namespace

asio::awaitable<void> SessionRoutes::login_link(const http::Request& request, http::ResponseWriter& writer) {
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

asio::awaitable<void> SessionRoutes::login(const http::Request& request, http::BodyReader& body,
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
  http::Response response = no_content();
  response.headers.add("Set-Cookie", *cookie);
  co_await writer.send(std::move(response));
}

asio::awaitable<void> SessionRoutes::session(const Principal& who, http::ResponseWriter& writer) {
  json::object session{{"user", who.user}};
  co_await writer.send(http::json_response(200, json::serialize(session)));
}

asio::awaitable<void> SessionRoutes::logout(const http::Request& request, http::ResponseWriter& writer) {
  http::Response response = no_content();
  response.headers.add("Set-Cookie", auth_.logout(request));
  co_await writer.send(std::move(response));
}

asio::awaitable<void> SessionRoutes::config(const Principal& who, http::ResponseWriter& writer) {
  // A local model server started after cellblock: ask again for the models of a provider that offers none.
  co_await models_.discover_missing();
  json::object answer{{"providers", providers_json(models_.providers())}, {"user", who.user}};
  answer["defaultModel"] = default_model_json(models_.providers());
  co_await writer.send(http::json_response(200, json::serialize(answer)));
}

}  // namespace cellblock::app
