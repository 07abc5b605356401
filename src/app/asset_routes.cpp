#include "app/asset_routes.h"

#include "app/assets.h"

namespace cellblock::app {

namespace {

// Caching, sniffing and, for the page itself, what it may load and who may frame it.
http::Response asset_response(const Asset& asset) {
  http::Response response;
  response.headers.add("ETag", std::string(asset.etag));
  response.headers.add("Cache-Control", asset.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.headers.add("X-Content-Type-Options", "nosniff");
  if (asset.content_type.starts_with("text/html")) {
    // The page talks only to this server; model output never runs as script in it.
    response.headers.add("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
                         "frame-src 'self' blob: data:; frame-ancestors 'none'; base-uri 'none'");
    response.headers.add("Referrer-Policy", "no-referrer");
  }
  return response;
}

}  // namespace

bool AssetRoutes::has(std::string_view path) {
  return find_asset(path) != nullptr;
}

asio::awaitable<void> AssetRoutes::serve(const http::Request& request, http::ResponseWriter& writer) const {
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
  http::Response response = asset_response(*asset);
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

}  // namespace cellblock::app
