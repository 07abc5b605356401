#pragma once
// The Beast-free view of one HTTP exchange that handlers see. Only src/http/server.cpp includes Beast;
// handlers compile against this header alone (a Beast translation unit costs ~25 s and ~770 MB to build).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/encoding.h"
#include "common/error.h"

namespace cellblock::http {

namespace asio = boost::asio;

// Header fields in arrival order; lookups ignore case.
class Headers {
 public:
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  // Replaces every field of that name.
  void set(std::string_view name, std::string value);
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

using cellblock::iequals;  // header names compare without case (common/encoding.h)

struct Request {
  std::string method;  // upper case, e.g. "POST"
  std::string target;  // as received: path and query
  std::string path;    // percent-decoded path, without the query
  std::string raw_query;
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  Headers headers;
  bool keep_alive = true;

  std::optional<std::string_view> query_value(std::string_view name) const;
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
};

// Splits "a=1&b=%2F" into decoded pairs ('+' is a space in query strings). Malformed escapes are an error.
Result<std::vector<std::pair<std::string, std::string>>> parse_query(std::string_view raw_query);

// The request body as it arrives; chunked transfer coding is already removed.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to buffer.size() bytes; 0 means the body has ended.
  virtual asio::awaitable<Result<std::size_t>> read_some(std::span<char> buffer) = 0;
  // The Content-Length, when the client sent one.
  virtual std::optional<std::uint64_t> declared_length() const = 0;

  // Reads the whole body; a body larger than `limit` fails with kPayloadTooLarge.
  asio::awaitable<Result<std::string>> read_all(std::size_t limit);
};

// A connection taken over after "101 Switching Protocols": raw bytes both ways (a relayed WebSocket). It
// borrows the server's connection and is valid until the handler returns; the connection is closed
// afterwards.
class RawStream {
 public:
  virtual ~RawStream() = default;
  // Reads up to buffer.size() bytes (first any the client sent right after its request); 0 means the peer
  // closed.
  virtual asio::awaitable<Result<std::size_t>> read_some(std::span<char> buffer) = 0;
  // Writes all of `data`.
  virtual asio::awaitable<Status> write(std::string_view data) = 0;
  virtual void close() = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // A complete response with Content-Length. Returns false when the client is gone.
  virtual asio::awaitable<bool> send(Response response) = 0;
  // A complete response whose body is `size` bytes read from `fd` (the writer does not take ownership).
  virtual asio::awaitable<bool> send_file(int status, Headers headers, int fd, std::uint64_t size) = 0;
  // Starts a chunked response; each write_chunk is sent and flushed at once; end_stream sends the last chunk.
  virtual asio::awaitable<bool> begin_stream(int status, Headers headers) = 0;
  virtual asio::awaitable<bool> write_chunk(std::string_view data) = 0;
  virtual asio::awaitable<bool> end_stream() = 0;
  // Starts a response announcing `Content-Length: content_length`; the body follows through write_chunk (raw
  // bytes, exactly content_length of them; none for HEAD) and end_stream. Lets a proxy relay a large sized
  // body with bounded memory. The default streams it chunked instead.
  virtual asio::awaitable<bool> begin_sized(int status, Headers headers, std::uint64_t content_length);
  // Sends `switching_protocols` (status 101) and hands over the raw connection; no HTTP follows on it. The
  // default fails with kUnimplemented.
  virtual asio::awaitable<Result<std::unique_ptr<RawStream>>> upgrade(Response switching_protocols);
  // Closes the connection at once, without finishing the response: clients see a reset, as when a sandbox
  // dies.
  virtual void abort() = 0;
  // Completes when the peer has closed its side of the connection (or the connection failed).
  virtual asio::awaitable<void> wait_client_closed() = 0;
  // True once a response (complete or streamed) has started.
  virtual bool started() const = 0;
};

using Handler = std::function<asio::awaitable<void>(Request&, BodyReader&, ResponseWriter&)>;

// Helpers for the common answers.
Response json_response(int status, std::string body);
Response text_response(int status, std::string body);
// E2B's error body: {"code": <http status>, "message": "..."}.
Response error_response(const Error& error);
Response error_response(ErrorCode code, std::string message);
// The sandbox proxy's errors (E2B's client-proxy shape): {"sandboxId", "message", "code"}, e.g. the 502 of a
// sandbox that is not running.
Response sandbox_error_response(std::string_view sandbox_id, const Error& error);

}  // namespace cellblock::http
