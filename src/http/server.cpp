// The only translation unit that instantiates Beast's HTTP parser and serializer.
#include "http/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <utility>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/encoding.h"

namespace cellblock::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Protocol = asio::generic::stream_protocol;
using Stream = beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy>;
using Parser = bhttp::request_parser<bhttp::buffer_body>;
using asio::use_awaitable;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// A request body a handler left unread is read and dropped up to this size, so the connection can serve the
// next request; past it (or when its size is unknown) the answer says `Connection: close` and the connection
// ends.
constexpr std::size_t kMaxDrainBytes = 1024 * 1024;

Request to_request(const bhttp::request<bhttp::buffer_body>& header, Status& status) {
  Request request;
  request.method = std::string(header.method_string());
  request.target = std::string(header.target());
  std::string_view target = request.target;
  std::size_t question = target.find('?');
  std::string_view raw_path = target.substr(0, question);
  if (question != std::string_view::npos) request.raw_query = std::string(target.substr(question + 1));
  if (auto decoded = percent_decode(raw_path)) {
    request.path = std::move(*decoded);
  } else {
    status = fail(ErrorCode::kInvalidArgument, "malformed percent-encoding in the request path");
  }
  if (auto query = parse_query(request.raw_query)) {
    request.query = std::move(*query);
  } else if (status) {
    status = tl::unexpected(query.error());
  }
  for (const auto& field : header) {
    request.headers.add(std::string(field.name_string()), std::string(field.value()));
  }
  request.keep_alive = header.keep_alive();
  return request;
}

class BeastBodyReader final : public BodyReader {
 public:
  BeastBodyReader(Stream& stream, beast::flat_buffer& buffer, Parser& parser, std::chrono::seconds timeout)
      : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout) {
    auto expect = parser_.get()[bhttp::field::expect];
    expect_continue_ = iequals(expect, "100-continue");
  }

  asio::awaitable<Result<std::size_t>> read_some(std::span<char> out) override {
    if (parser_.is_done() || out.empty()) co_return 0;
    if (expect_continue_) {
      expect_continue_ = false;
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(kContinue), kNoThrow);
      if (ec) co_return fail(ErrorCode::kCanceled, "client went away: " + ec.message());
    }
    for (;;) {
      auto& body = parser_.get().body();
      body.data = out.data();
      body.size = out.size();
      stream_.expires_after(timeout_);
      auto [ec, n] = co_await bhttp::async_read_some(stream_, buffer_, parser_, kNoThrow);
      stream_.expires_never();
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return fail(ErrorCode::kInvalidArgument, "reading the request body failed: " + ec.message());
      std::size_t got = out.size() - parser_.get().body().size;
      if (got > 0 || parser_.is_done()) co_return got;
    }
  }

  std::optional<std::uint64_t> declared_length() const override {
    auto length = parser_.content_length();
    if (!length) return std::nullopt;
    return *length;
  }

  bool done() const { return parser_.is_done(); }
  // The client waits for "100 Continue" before sending the body: after a final answer it will not send it.
  bool awaiting_continue() const { return expect_continue_; }
  // Whether what is left of the body can be dropped to keep the connection (kMaxDrainBytes).
  bool drainable() const {
    if (done()) return true;
    auto declared = declared_length();
    return !expect_continue_ && declared && *declared <= kMaxDrainBytes;
  }

 private:
  Stream& stream_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  std::chrono::seconds timeout_;
  bool expect_continue_ = false;
};

// The connection after a 101 answer: bytes the client sent behind its request header come first.
class BeastRawStream final : public RawStream {
 public:
  BeastRawStream(Stream& stream, beast::flat_buffer& buffer) : stream_(stream), buffer_(buffer) {}

  asio::awaitable<Result<std::size_t>> read_some(std::span<char> out) override {
    if (out.empty()) co_return 0;
    if (buffer_.size() > 0) {
      std::size_t n = asio::buffer_copy(asio::buffer(out.data(), out.size()), buffer_.data());
      buffer_.consume(n);
      co_return n;
    }
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(out.data(), out.size()), kNoThrow);
    if (ec == asio::error::eof) co_return 0;
    if (ec) co_return fail(ErrorCode::kCanceled, "client connection failed: " + ec.message());
    co_return n;
  }

  asio::awaitable<Status> write(std::string_view data) override {
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data), kNoThrow);
    if (ec) co_return fail(ErrorCode::kCanceled, "client connection failed: " + ec.message());
    co_return Status{};
  }

  void close() override {
    beast::error_code ignored;
    stream_.socket().shutdown(Protocol::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

 private:
  Stream& stream_;
  beast::flat_buffer& buffer_;
};

class BeastResponseWriter final : public ResponseWriter {
 public:
  // `buffer` holds what the connection read beyond the request header (handed over on upgrade); `head` marks
  // a response to HEAD, which carries no body whatever its Content-Length says.
  BeastResponseWriter(Stream& stream, beast::flat_buffer& buffer, const BeastBodyReader& request_body,
                      bool keep_alive, bool head)
      : stream_(stream), buffer_(buffer), request_body_(request_body), keep_alive_(keep_alive), head_(head) {}

  asio::awaitable<bool> send(Response response) override {
    started_ = true;
    bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), 11};
    apply_headers(message, response.headers);
    message.body() = std::move(response.body);
    message.keep_alive(keep_alive_now());
    // RFC 9110: no Content-Length on 204 and 304 answers.
    if (response.status != 204 && response.status != 304) message.prepare_payload();
    auto [ec, n] = co_await bhttp::async_write(stream_, message, kNoThrow);
    failed_ = failed_ || static_cast<bool>(ec);
    co_return !ec;
  }

  asio::awaitable<bool> send_file(int status, Headers headers, int fd, std::uint64_t size) override {
    started_ = true;
    bhttp::response<bhttp::file_body> message{static_cast<bhttp::status>(status), 11};
    apply_headers(message, headers);
    beast::error_code ec;
    beast::file_posix file;
    file.native_handle(::dup(fd));
    message.body().reset(std::move(file), ec);
    if (ec) {
      failed_ = true;
      co_return false;
    }
    message.keep_alive(keep_alive_now());
    message.content_length(size);
    auto [write_ec, n] = co_await bhttp::async_write(stream_, message, kNoThrow);
    failed_ = failed_ || static_cast<bool>(write_ec);
    co_return !write_ec;
  }

  asio::awaitable<bool> begin_stream(int status, Headers headers) override {
    started_ = true;
    streaming_ = true;
    bhttp::response<bhttp::empty_body> message{static_cast<bhttp::status>(status), 11};
    apply_headers(message, headers);
    message.keep_alive(keep_alive_now());
    message.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{message};
    auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, kNoThrow);
    failed_ = failed_ || static_cast<bool>(ec);
    co_return !ec;
  }

  asio::awaitable<bool> begin_sized(int status, Headers headers, std::uint64_t content_length) override {
    started_ = true;
    streaming_ = true;
    sized_ = true;
    remaining_ = head_ ? 0 : content_length;
    bhttp::response<bhttp::empty_body> message{static_cast<bhttp::status>(status), 11};
    apply_headers(message, headers);
    message.keep_alive(keep_alive_now());
    message.content_length(content_length);
    bhttp::response_serializer<bhttp::empty_body> serializer{message};
    auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, kNoThrow);
    failed_ = failed_ || static_cast<bool>(ec);
    co_return !ec;
  }

  asio::awaitable<bool> write_chunk(std::string_view data) override {
    if (failed_) co_return false;
    if (data.empty()) co_return true;  // an empty chunk would end the body
    if (sized_) co_return co_await write_sized(data);
    auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk(asio::buffer(data)), kNoThrow);
    failed_ = failed_ || static_cast<bool>(ec);
    co_return !ec;
  }

  asio::awaitable<bool> end_stream() override {
    if (failed_) co_return false;
    if (sized_) {
      // A short body would leave the client waiting for bytes that never come: cut the connection instead.
      if (remaining_ != 0) {
        abort();
        co_return false;
      }
      streaming_ = false;
      co_return true;
    }
    streaming_ = false;
    auto [ec, n] = co_await asio::async_write(stream_, bhttp::make_chunk_last(), kNoThrow);
    failed_ = failed_ || static_cast<bool>(ec);
    co_return !ec;
  }

  asio::awaitable<Result<std::unique_ptr<RawStream>>> upgrade(Response response) override {
    started_ = true;
    upgraded_ = true;
    bhttp::response<bhttp::empty_body> message{static_cast<bhttp::status>(response.status), 11};
    apply_headers(message, response.headers);
    bhttp::response_serializer<bhttp::empty_body> serializer{message};
    auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, kNoThrow);
    if (ec) {
      failed_ = true;
      co_return fail(ErrorCode::kCanceled, "client went away: " + ec.message());
    }
    co_return std::make_unique<BeastRawStream>(stream_, buffer_);
  }

  void abort() override {
    failed_ = true;
    aborted_ = true;
    beast::error_code ignored;
    stream_.socket().shutdown(Protocol::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  asio::awaitable<void> wait_client_closed() override {
    for (;;) {
      if (!stream_.socket().is_open()) co_return;
      auto [ec] = co_await stream_.socket().async_wait(Protocol::socket::wait_read, kNoThrow);
      if (ec) co_return;
      char byte;
      ssize_t n = ::recv(stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) co_return;
      if (n > 0) {
        // Unread bytes (a pipelined request, a body the handler skipped) hide a close from recv, not from
        // poll.
        pollfd probe{stream_.socket().native_handle(), POLLRDHUP, 0};
        if (::poll(&probe, 1, 0) > 0 && (probe.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) co_return;
        // Readability says nothing about a close any more, so poll slowly.
        asio::steady_timer timer(stream_.get_executor(), std::chrono::milliseconds(250));
        auto [timer_ec] = co_await timer.async_wait(kNoThrow);
        if (timer_ec) co_return;
      }
    }
  }

  bool started() const override { return started_; }
  bool usable() const { return !failed_ && !aborted_ && !streaming_ && !upgraded_; }
  // What the answer told the client: whether this connection takes another request.
  bool keeps_alive() const { return keep_alive_; }

 private:
  template <class Message>
  static void apply_headers(Message& message, const Headers& headers) {
    for (const auto& [name, value] : headers.items()) message.insert(name, value);
  }

  // Decided when the answer's head is written: a request body too large to drop means the connection closes,
  // and the client must know before it reuses the connection.
  bool keep_alive_now() {
    keep_alive_ = keep_alive_ && request_body_.drainable();
    return keep_alive_;
  }

  asio::awaitable<bool> write_sized(std::string_view data) {
    if (data.size() > remaining_) {
      abort();  // more than announced would corrupt the next response on this connection
      co_return false;
    }
    remaining_ -= data.size();
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data), kNoThrow);
    failed_ = failed_ || static_cast<bool>(ec);
    co_return !ec;
  }

  Stream& stream_;
  beast::flat_buffer& buffer_;
  const BeastBodyReader& request_body_;
  bool keep_alive_;
  bool head_;
  bool started_ = false;
  bool streaming_ = false;
  bool sized_ = false;
  std::uint64_t remaining_ = 0;
  bool upgraded_ = false;
  bool failed_ = false;
  bool aborted_ = false;
};

asio::awaitable<void> write_error(Stream& stream, const Error& error) {
  Response response = error_response(error);
  bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), 11};
  for (const auto& [name, value] : response.headers.items()) message.insert(name, value);
  message.body() = std::move(response.body);
  message.keep_alive(false);
  message.prepare_payload();
  co_await bhttp::async_write(stream, message, kNoThrow);
}

Error parse_error(const beast::error_code& ec) {
  if (ec == bhttp::error::header_limit) {
    return Error{ErrorCode::kPayloadTooLarge, "request header fields too large"};
  }
  return Error{ErrorCode::kInvalidArgument, "malformed HTTP request: " + ec.message()};
}

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::any_io_executor executor, ServerOptions options)
      : executor(std::move(executor)), options(options) {}

  asio::any_io_executor executor;
  ServerOptions options;
  std::vector<std::shared_ptr<asio::basic_socket_acceptor<Protocol>>> acceptors;
  std::set<Stream*> connections;
  bool stopped = false;

  asio::awaitable<void> accept_loop(std::shared_ptr<asio::basic_socket_acceptor<Protocol>> acceptor,
                                    Handler handler, bool tcp) {
    auto self = shared_from_this();
    while (!stopped) {
      auto [ec, socket] = co_await acceptor->async_accept(kNoThrow);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopped) co_return;
        spdlog::warn("accept failed: {}", ec.message());
        if (ec == asio::error::no_descriptors) {
          asio::steady_timer backoff(executor, std::chrono::milliseconds(100));
          co_await backoff.async_wait(kNoThrow);
        }
        continue;
      }
      if (tcp) {
        int one = 1;
        ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      asio::co_spawn(executor, serve(std::move(socket), handler), asio::detached);
    }
  }

  asio::awaitable<void> serve(Protocol::socket socket, Handler handler) {
    auto self = shared_from_this();
    Stream stream(std::move(socket));
    connections.insert(&stream);
    try {
      co_await serve_requests(stream, handler);
    } catch (const std::exception& e) {
      spdlog::error("connection failed: {}", e.what());
    }
    co_await linger_close(stream);
    connections.erase(&stream);
  }

  static constexpr std::chrono::seconds kLingerTime{10};

  // Closing a socket that still holds unread request bytes makes the kernel send a reset, which can destroy a
  // response the client has not read yet (a 413 answered while the body was still arriving). So half-close,
  // then discard what the client still sends until it closes or kLingerTime passes. stop() cuts this short.
  static asio::awaitable<void> linger_close(Stream& stream) {
    beast::error_code ignored;
    stream.socket().shutdown(Protocol::socket::shutdown_send, ignored);
    stream.expires_after(kLingerTime);
    char scratch[16384];
    for (;;) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kNoThrow);
      if (ec) break;
    }
    stream.socket().close(ignored);
  }

  asio::awaitable<void> serve_requests(Stream& stream, Handler& handler) {
    beast::flat_buffer buffer;
    for (;;) {
      Parser parser;
      parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
      parser.body_limit(boost::none);  // handlers bound what they read
      stream.expires_after(options.idle_timeout);
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kNoThrow);
      stream.expires_never();
      if (ec) {
        if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
            ec != asio::error::connection_reset && ec != asio::error::operation_aborted && !stopped) {
          co_await write_error(stream, parse_error(ec));
        }
        co_return;
      }
      Status status;
      Request request = to_request(parser.get(), status);
      if (!status) {
        co_await write_error(stream, status.error());
        co_return;
      }
      BeastBodyReader reader(stream, buffer, parser, options.idle_timeout);
      BeastResponseWriter writer(stream, buffer, reader, request.keep_alive, request.method == "HEAD");
      co_await run_handler(handler, request, reader, writer);
      if (!writer.usable() || !writer.keeps_alive()) co_return;
      // A handler that answered without reading the body (an early error): read the small rest so the
      // connection can serve the next request (larger ones were answered with Connection: close).
      if (!reader.done() && !co_await drain(reader, kMaxDrainBytes)) co_return;
    }
  }

  static asio::awaitable<bool> drain(BeastBodyReader& reader, std::size_t limit) {
    if (reader.awaiting_continue()) co_return false;
    if (auto declared = reader.declared_length(); declared && *declared > limit) co_return false;
    char scratch[16384];
    std::size_t total = 0;
    while (!reader.done()) {
      auto n = co_await reader.read_some(std::span<char>(scratch, sizeof scratch));
      if (!n || (*n == 0 && !reader.done())) co_return false;
      total += *n;
      if (total > limit) co_return false;
    }
    co_return true;
  }

  static asio::awaitable<void> run_handler(Handler& handler, Request& request, BeastBodyReader& reader,
                                           BeastResponseWriter& writer) {
    std::string failure;
    try {
      co_await handler(request, reader, writer);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      spdlog::error("{} {}: handler failed: {}", request.method, request.path, failure);
      if (writer.started()) {
        writer.abort();
        co_return;
      }
      Error error{ErrorCode::kInternal, "internal error while handling the request"};
      co_await writer.send(error_response(error));
    } else if (!writer.started()) {
      Error error{ErrorCode::kInternal, "the handler produced no response"};
      co_await writer.send(error_response(error));
    }
  }
};

Server::Server(asio::any_io_executor executor, ServerOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), options)) {}

Server::~Server() {
  stop();
}

Result<std::uint16_t> Server::listen_tcp(const std::string& address, std::uint16_t port, Handler handler) {
  beast::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "invalid listen address '" + address + "'");
  asio::ip::tcp::acceptor tcp_acceptor(impl_->executor);
  asio::ip::tcp::endpoint endpoint(ip, port);
  tcp_acceptor.open(endpoint.protocol(), ec);
  if (!ec) tcp_acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) tcp_acceptor.bind(endpoint, ec);
  if (!ec) tcp_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return fail(ErrorCode::kUnavailable,
                "cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  }
  std::uint16_t bound = tcp_acceptor.local_endpoint().port();
  auto acceptor = std::make_shared<asio::basic_socket_acceptor<Protocol>>(std::move(tcp_acceptor));
  impl_->acceptors.push_back(acceptor);
  asio::co_spawn(impl_->executor, impl_->accept_loop(acceptor, std::move(handler), true), asio::detached);
  return bound;
}

Status Server::listen_unix(const std::string& path, Handler handler) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
  beast::error_code ec;
  asio::local::stream_protocol::acceptor unix_acceptor(impl_->executor);
  asio::local::stream_protocol::endpoint endpoint(path);
  unix_acceptor.open(endpoint.protocol(), ec);
  if (!ec) unix_acceptor.bind(endpoint, ec);
  if (!ec) unix_acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::kUnavailable, "cannot listen on unix socket " + path + ": " + ec.message());
  auto acceptor = std::make_shared<asio::basic_socket_acceptor<Protocol>>(std::move(unix_acceptor));
  impl_->acceptors.push_back(acceptor);
  asio::co_spawn(impl_->executor, impl_->accept_loop(acceptor, std::move(handler), false), asio::detached);
  return {};
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ignored;
  for (auto& acceptor : impl_->acceptors) acceptor->close(ignored);
  for (Stream* stream : impl_->connections) stream->socket().close(ignored);
}

}  // namespace cellblock::http
