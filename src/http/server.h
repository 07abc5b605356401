#pragma once
// An HTTP/1.1 server over TCP or Unix sockets: one listener abstraction, two transports. Each connection is
// one coroutine on the server's executor; handlers see only the Beast-free interface of exchange.h.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "http/exchange.h"

namespace cellblock::http {

struct ServerOptions {
  std::size_t max_header_bytes = 64 * 1024;
  // An idle keep-alive connection (or a stalled request) is closed after this long.
  std::chrono::seconds idle_timeout{650};
};

class Server {
 public:
  Server(asio::any_io_executor executor, ServerOptions options = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting; returns the bound port (useful with port 0).
  Result<std::uint16_t> listen_tcp(const std::string& address, std::uint16_t port, Handler handler);
  // Binds a Unix stream socket at `path` (replacing a stale socket file) and starts accepting.
  Status listen_unix(const std::string& path, Handler handler);
  // Stops accepting and closes every open connection.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cellblock::http
