#pragma once
// A streaming HTTP/1.1 client for the server's own outbound calls: LLM providers over HTTPS (or plain HTTP
// for local model servers) and sandbox agents over their Unix sockets. The response body is read as it
// arrives, so server-sent events reach the caller chunk by chunk. Beast and OpenSSL stay inside client.cpp.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/error.h"
#include "http/exchange.h"
#include "http/proxy.h"

namespace cellblock::http {

struct ClientRequest {
  std::string method = "GET";
  // http://host[:port]/path?query or https://…; the host also names the Host header and TLS SNI.
  std::string url;
  Headers headers;  // Host, Content-Length and Connection are set by the client
  std::string body;
};

struct ClientOptions {
  // When set, the connection goes to this Unix socket instead of the URL's host (the URL still gives the
  // path and the Host header), e.g. a sandbox agent.
  std::string unix_socket;
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect + TLS handshake
  // Fails a read or write that makes no progress for this long (a stalled provider).
  std::chrono::milliseconds idle_timeout{300000};
  // abort() closes the connection; a pending or later call fails with kCanceled.
  std::shared_ptr<AbortHandle> abort;
  // Extra PEM CA file trusted besides the system store (tests with a self-signed server).
  std::string ca_file;
};

// An answer whose head has arrived; the body is read on demand. Chunked transfer coding is removed.
class ClientResponse {
 public:
  virtual ~ClientResponse() = default;
  virtual int status() const = 0;
  virtual const Headers& headers() const = 0;
  // Reads up to buffer.size() body bytes; 0 means the body has ended.
  virtual asio::awaitable<Result<std::size_t>> read_some(std::span<char> buffer) = 0;
  // Reads the rest of the body; more than `limit` bytes fails with kPayloadTooLarge.
  asio::awaitable<Result<std::string>> read_all(std::size_t limit);
};

// Sends the request and waits for the response head.
// Errors: kInvalidArgument (malformed URL or unsupported scheme), kUnavailable (DNS, connect, TLS or the
// connection broke; the message names the host), kDeadlineExceeded (timeouts), kCanceled (aborted).
asio::awaitable<Result<std::unique_ptr<ClientResponse>>> fetch(ClientRequest request, ClientOptions options);
// The same with default options. An overload, not a default argument: g++ 12 frees a defaulted argument of a
// coroutine twice when the call is inside a co_await expression.
asio::awaitable<Result<std::unique_ptr<ClientResponse>>> fetch(ClientRequest request);

}  // namespace cellblock::http
