#pragma once
// The user's sandbox files, through its envd: GET /api/files?path= (list a directory, the home by default),
// POST /api/files?path= (upload one file: the body streams into the sandbox), GET /api/files/download?path=
// (the bytes, streamed as an attachment). Relative paths are taken from /home/user; ".." is refused.

#include <boost/asio/awaitable.hpp>

#include "app/auth.h"
#include "app/user_sandbox.h"
#include "http/exchange.h"

namespace cellblock::app {

class FileRoutes {
 public:
  explicit FileRoutes(UserSandboxes& sandboxes) : sandboxes_(sandboxes) {}

  asio::awaitable<void> list_files(const Principal& who, const http::Request& request,
                                   http::ResponseWriter& writer);
  asio::awaitable<void> upload_file(const Principal& who, http::Request& request, http::BodyReader& body,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> download_file(const Principal& who, const http::Request& request,
                                      http::ResponseWriter& writer);

 private:
  UserSandboxes& sandboxes_;
};

}  // namespace cellblock::app
