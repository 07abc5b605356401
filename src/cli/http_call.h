#pragma once
// A small blocking HTTP/1.1 client for the CLI's calls to a running `cellblock serve` (one request per
// connection). Chunked bodies are decoded as they arrive and handed to `on_body` piece by piece.

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cellblock::cli {

struct HttpReply {
  int status = 0;
  std::string body;  // the whole body unless on_body consumed it
};

struct HttpCall {
  std::string host = "127.0.0.1";
  std::uint16_t port = 3000;
  std::string method = "GET";
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::function<void(std::string_view)> on_body;  // streaming consumer (optional)
};

Result<HttpReply> http_call(const HttpCall& call);

}  // namespace cellblock::cli
