#pragma once
// The code-interpreter API (E2B port 49999): POST /execute streaming NDJSON, /contexts, /health
// (e2b-api.md §7). Handlers see only the Beast-free exchange interface.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "agent/interpreter/context_registry.h"
#include "http/exchange.h"

namespace cellblock::interpreter {

struct ExecuteLimits {
  std::size_t max_request_bytes = 16 * 1024 * 1024;
  // Output held for a client that reads slower than the cell writes; beyond it output is dropped (and said
  // so).
  std::size_t max_buffered_output = 64 * 1024 * 1024;
  std::chrono::seconds keepalive_interval{5};
};

class InterpreterService {
 public:
  // `authorize` checks the envd access token on /execute (the only route that carries it).
  InterpreterService(ContextRegistry& contexts, std::function<Status(const http::Request&)> authorize,
                     ExecuteLimits limits = {});

  asio::awaitable<void> handle(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);

 private:
  asio::awaitable<void> execute(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);
  asio::awaitable<void> create_context(http::BodyReader& body, http::ResponseWriter& writer);
  asio::awaitable<void> list_contexts(http::ResponseWriter& writer);

  ContextRegistry& contexts_;
  std::function<Status(const http::Request&)> authorize_;
  ExecuteLimits limits_;
};

}  // namespace cellblock::interpreter
