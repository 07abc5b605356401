#pragma once
// The page (web/, embedded in the binary: assets.h): GET and HEAD of /, /assets/… and the other built files,
// with ETags, immutable caching of content-hashed names, and the page's Content-Security-Policy. Public: no
// session needed.

#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "http/exchange.h"

namespace cellblock::app {

namespace asio = boost::asio;

class AssetRoutes {
 public:
  // True when `path` names an embedded file ("/" names /index.html).
  static bool has(std::string_view path);

  asio::awaitable<void> serve(const http::Request& request, http::ResponseWriter& writer) const;
};

}  // namespace cellblock::app
