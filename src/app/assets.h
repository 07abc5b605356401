#pragma once
// The web app (web/), built by Vite and compiled into the binary by cmake/EmbedWeb.cmake.
// The table is generated (web_assets.cpp in the build directory); `cellblock serve` answers `/` and
// `/assets/*` from it.

#include <string_view>

namespace cellblock::app {

struct Asset {
  std::string_view path;          // "/index.html", "/assets/index-abc123.js"
  std::string_view content_type;  // "text/html; charset=utf-8"
  std::string_view body;          // the file's bytes (may contain NUL)
  std::string_view etag;          // quoted content hash: "\"3f2a…\""
  bool immutable;                 // content-hashed name under /assets/: cache for a year
};

// The asset at `path` (no query string), or nullptr. "/" gives /index.html.
const Asset* find_asset(std::string_view path);

}  // namespace cellblock::app
