// The third translation unit that instantiates Beast (with asio::ssl): the outbound client. The request head
// is written by hand (it is short and every field is checked here); the response is read by Beast's parser
// into the caller's buffer, so a chunked or server-sent-event body reaches the caller as each piece arrives.
#include "http/client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <array>
#include <charconv>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include "http/connector.h"

namespace cellblock::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
namespace urls = boost::urls;
using detail::Protocol;
using detail::Stream;
using TlsStream = ssl::stream<Stream&>;
using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;
using Clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t kMaxResponseHeadBytes = 64 * 1024;

// Where a URL points, split the ways the connection needs it.
struct Target {
  bool tls = false;
  std::string host;         // for DNS, SNI and certificate checks: decoded, IPv6 without brackets
  bool ip_literal = false;  // SNI is for host names only (RFC 6066 §3)
  std::uint16_t port = 0;
  std::string host_header;  // as written in the URL: brackets and an explicit port kept
  std::string target;       // path and query
};

Result<Target> parse_url(const std::string& url) {
  auto parsed = urls::parse_uri(url);
  if (!parsed) {
    return fail(ErrorCode::kInvalidArgument, "malformed URL '" + url + "': " + parsed.error().message());
  }
  const urls::url_view& view = *parsed;
  Target target;
  if (view.scheme_id() == urls::scheme::https) {
    target.tls = true;
  } else if (view.scheme_id() != urls::scheme::http) {
    return fail(ErrorCode::kInvalidArgument, "unsupported URL scheme '" + std::string(view.scheme()) +
                                                 "' in '" + url + "' (http or https)");
  }
  if (!view.has_authority() || view.encoded_host().empty()) {
    return fail(ErrorCode::kInvalidArgument, "URL without a host: '" + url + "'");
  }
  if (view.has_userinfo()) {
    // Credentials belong in headers, where callers can keep them out of logs.
    return fail(ErrorCode::kInvalidArgument, "credentials in URLs are not supported: '" + url + "'");
  }
  target.port = target.tls ? 443 : 80;
  if (view.has_port()) {
    // port_number() wraps values above 65535; check the digits themselves.
    std::string_view digits = view.port();
    unsigned port = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
      return fail(ErrorCode::kInvalidArgument, "invalid port in URL '" + url + "'");
    }
    target.port = static_cast<std::uint16_t>(port);
  }
  target.host = view.host_address();
  target.ip_literal = view.host_type() == urls::host_type::ipv4 ||
                      view.host_type() == urls::host_type::ipv6 ||
                      view.host_type() == urls::host_type::ipvfuture;
  target.host_header = std::string(view.encoded_host_and_port());
  target.target = std::string(view.encoded_path());
  if (target.target.empty()) target.target = "/";
  if (view.has_query()) target.target += "?" + std::string(view.encoded_query());
  return target;
}

// RFC 9110 §5.6.2 token characters: what a method or a field name may contain.
bool is_token(std::string_view text) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  if (text.empty()) return false;
  for (char c : text) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && kSymbols.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool safe_value(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The fields this client owns: the framing and the connection are decided here, not by the caller.
bool is_client_field(std::string_view name) {
  return iequals(name, "Host") || iequals(name, "Content-Length") || iequals(name, "Connection") ||
         iequals(name, "Transfer-Encoding");
}

Result<std::string> request_head(const ClientRequest& request, const Target& target) {
  if (!is_token(request.method)) {
    return fail(ErrorCode::kInvalidArgument, "invalid HTTP method '" + request.method + "'");
  }
  std::string head = request.method + " " + target.target + " HTTP/1.1\r\n";
  auto append = [&head](std::string_view name, std::string_view value) {
    head.append(name).append(": ").append(value).append("\r\n");
  };
  append("Host", target.host_header);
  for (const auto& [name, value] : request.headers.items()) {
    if (!is_token(name) || !safe_value(value)) {
      return fail(ErrorCode::kInvalidArgument, "invalid request header '" + name + "'");
    }
    if (!is_client_field(name)) append(name, value);
  }
  const bool bodiless_method = request.method == "GET" || request.method == "HEAD";
  if (!request.body.empty() || !bodiless_method)
    append("Content-Length", std::to_string(request.body.size()));
  append("Connection", "close");  // one connection per fetch: nothing to pool, nothing to go stale
  head.append("\r\n");
  return head;
}

std::string milliseconds_text(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

// One fetch's connection and parser; owned by the response once the head has arrived.
struct Connection {
  Connection(asio::any_io_executor executor, std::string peer, std::chrono::milliseconds idle_timeout)
      : socket(executor), wakeup(executor), peer(std::move(peer)), idle_timeout(idle_timeout) {}

  Stream socket;              // TCP or Unix
  asio::steady_timer wakeup;  // bounds DNS resolution; cancelled by abort
  std::optional<ssl::context> tls_context;
  std::optional<TlsStream> tls;  // over `socket`, for https
  bool host_name_mismatch = false;
  beast::flat_buffer buffer;
  std::optional<ResponseParser> parser;
  std::string peer;  // "host:port" or the socket path, for messages
  std::chrono::milliseconds idle_timeout;
  bool aborted = false;
  AbortHandle::Registration registration;  // last: unregistered before the rest goes away

  void close() {
    beast::error_code ignored;
    socket.socket().shutdown(Protocol::socket::shutdown_both, ignored);
    socket.close();
  }

  void watch(const std::shared_ptr<AbortHandle>& abort) {
    registration = abort->on_abort([this] {
      aborted = true;
      wakeup.cancel();
      close();
    });
  }

  Error canceled() const { return Error{ErrorCode::kCanceled, "the request to " + peer + " was aborted"}; }

  // `what` says what failed, e.g. "cannot connect to api.example.com:443".
  Error failure(const std::string& what, const beast::error_code& ec,
                std::chrono::milliseconds timeout) const {
    if (aborted) return canceled();
    if (ec == beast::error::timeout) {
      return Error{ErrorCode::kDeadlineExceeded, what + ": no progress for " + milliseconds_text(timeout)};
    }
    return Error{ErrorCode::kUnavailable, what + ": " + ec.message()};
  }
};

template <class AsyncStream>
AsyncStream& stream_of(Connection& connection);

template <>
Stream& stream_of<Stream>(Connection& connection) {
  return connection.socket;
}

template <>
TlsStream& stream_of<TlsStream>(Connection& connection) {
  return *connection.tls;
}

std::string peer_name(const Target& target, const ClientOptions& options) {
  if (!options.unix_socket.empty()) return options.unix_socket;
  const bool ipv6 = target.host.find(':') != std::string::npos;
  std::string host = ipv6 ? "[" + target.host + "]" : target.host;
  return host + ":" + std::to_string(target.port);
}

// Connects to the URL's host (or to the Unix socket the options name), all within the deadline.
asio::awaitable<Status> connect(Connection& connection, const Target& target, const ClientOptions& options,
                                Clock::time_point deadline) {
  Upstream to;
  to.unix_path = options.unix_socket;
  to.host = target.host;
  to.port = target.port;
  auto opened = co_await detail::open_connection(connection.socket, to, deadline, connection.wakeup);
  if (opened) co_return Status{};
  if (connection.aborted) co_return tl::unexpected(connection.canceled());
  const detail::ConnectFailure& why = opened.error();
  switch (why.step) {
    case detail::ConnectFailure::Step::kSocketPath:
      co_return fail(ErrorCode::kInvalidArgument, "Unix socket path too long: " + options.unix_socket);
    case detail::ConnectFailure::Step::kResolve:
      if (why.ec == beast::error::timeout) {
        co_return fail(ErrorCode::kDeadlineExceeded, "cannot resolve " + target.host + ": timed out");
      }
      co_return fail(ErrorCode::kUnavailable, "cannot resolve " + target.host + ": " + why.ec.message());
    case detail::ConnectFailure::Step::kConnect:
      break;
  }
  co_return tl::unexpected(
      connection.failure("cannot connect to " + connection.peer, why.ec, options.connect_timeout));
}

// Prepares certificate checks before connecting, so a bad CA file fails without touching the network.
Status prepare_tls(Connection& connection, const ClientOptions& options) {
  connection.tls_context.emplace(ssl::context::tls_client);
  ssl::context& context = *connection.tls_context;
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  context.set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  context.set_default_verify_paths(ec);
  if (ec) return fail(ErrorCode::kInternal, "cannot load the system CA certificates: " + ec.message());
  if (!options.ca_file.empty()) {
    context.load_verify_file(options.ca_file, ec);
    if (ec) {
      return fail(ErrorCode::kInvalidArgument,
                  "cannot load the CA file " + options.ca_file + ": " + ec.message());
    }
  }
  return Status{};
}

std::string tls_failure_reason(Connection& connection, const beast::error_code& ec) {
  std::string reason = ec.message();
  long verify_result = SSL_get_verify_result(connection.tls->native_handle());
  // A rejected name shows up in OpenSSL's result only as "unspecified": say what it was.
  if (connection.host_name_mismatch) {
    reason += " (the certificate does not name this host)";
  } else if (verify_result != X509_V_OK) {
    reason += std::string(" (") + X509_verify_cert_error_string(verify_result) + ")";
  }
  return reason;
}

asio::awaitable<Status> handshake(Connection& connection, const Target& target, Clock::time_point deadline) {
  connection.tls.emplace(connection.socket, *connection.tls_context);
  TlsStream& tls = *connection.tls;
  const std::string what = "TLS handshake with " + connection.peer + " failed";
  if (!target.ip_literal && !SSL_set_tlsext_host_name(tls.native_handle(), target.host.c_str())) {
    co_return fail(ErrorCode::kInternal, what + ": cannot set the server name (SNI)");
  }
  // Chain checks come from OpenSSL; the name check is asio's (RFC 6125, IP addresses included). Remember a
  // name mismatch: OpenSSL's own verify result does not say so.
  auto check_name = [&connection, verify_name = ssl::host_name_verification(target.host)](
                        bool preverified, ssl::verify_context& context) mutable {
    bool ok = verify_name(preverified, context);
    if (preverified && !ok) connection.host_name_mismatch = true;
    return ok;
  };
  tls.set_verify_callback(std::move(check_name));
  connection.socket.expires_at(deadline);
  auto [ec] = co_await tls.async_handshake(ssl::stream_base::client, kNoThrow);
  connection.socket.expires_never();
  if (connection.aborted) co_return tl::unexpected(connection.canceled());
  if (ec == beast::error::timeout) {
    co_return fail(ErrorCode::kDeadlineExceeded, what + ": timed out");
  }
  if (ec) co_return fail(ErrorCode::kUnavailable, what + ": " + tls_failure_reason(connection, ec));
  co_return Status{};
}

Headers response_headers(const bhttp::response_header<>& header) {
  Headers headers;
  for (const auto& field : header) headers.add(std::string(field.name_string()), std::string(field.value()));
  return headers;
}

template <class AsyncStream>
class StreamedResponse final : public ClientResponse {
 public:
  StreamedResponse(std::unique_ptr<Connection> connection, int status, Headers headers)
      : connection_(std::move(connection)), status_(status), headers_(std::move(headers)) {}

  int status() const override { return status_; }
  const Headers& headers() const override { return headers_; }

  asio::awaitable<Result<std::size_t>> read_some(std::span<char> out) override {
    Connection& c = *connection_;
    if (c.aborted) co_return tl::unexpected(c.canceled());
    if (failure_) co_return tl::unexpected(*failure_);
    ResponseParser& parser = *c.parser;
    AsyncStream& stream = stream_of<AsyncStream>(c);
    // A read may consume only framing (a chunk header): keep reading until body bytes or the end.
    while (!parser.is_done() && !out.empty()) {
      auto& body = parser.get().body();
      body.data = out.data();
      body.size = out.size();
      c.socket.expires_after(c.idle_timeout);
      auto [ec, n] = co_await bhttp::async_read_some(stream, c.buffer, parser, kNoThrow);
      c.socket.expires_never();
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) {
        failure_ = c.failure("reading the response from " + c.peer + " failed", ec, c.idle_timeout);
        co_return tl::unexpected(*failure_);
      }
      std::size_t got = out.size() - parser.get().body().size;
      if (got > 0) co_return got;
    }
    co_return 0;
  }

 private:
  std::unique_ptr<Connection> connection_;  // closed when the response goes away
  int status_;
  Headers headers_;
  std::optional<Error> failure_;  // a broken body stays broken
};

// Reads the answer head, skipping interim 1xx answers (100 Continue).
template <class AsyncStream>
asio::awaitable<Status> read_response_head(Connection& c, AsyncStream& stream, bool head_request) {
  const std::string what = "reading the response from " + c.peer + " failed";
  for (;;) {
    c.parser.emplace();
    c.parser->header_limit(kMaxResponseHeadBytes);
    c.parser->body_limit(boost::none);  // callers bound what they keep (read_all's limit)
    if (head_request) c.parser->skip(true);
    c.socket.expires_after(c.idle_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, c.buffer, *c.parser, kNoThrow);
    c.socket.expires_never();
    if (ec) co_return tl::unexpected(c.failure(what, ec, c.idle_timeout));
    unsigned status = c.parser->get().result_int();
    if (status < 100 || status >= 200 || status == 101) co_return Status{};
  }
}

template <class AsyncStream>
asio::awaitable<Result<std::unique_ptr<ClientResponse>>> exchange(std::unique_ptr<Connection> connection,
                                                                  const ClientRequest& request,
                                                                  const std::string& head) {
  Connection& c = *connection;
  AsyncStream& stream = stream_of<AsyncStream>(c);
  std::array<asio::const_buffer, 2> buffers = {asio::buffer(head), asio::buffer(request.body)};
  c.socket.expires_after(c.idle_timeout);
  auto [ec, n] = co_await asio::async_write(stream, buffers, kNoThrow);
  c.socket.expires_never();
  if (ec)
    co_return tl::unexpected(c.failure("sending the request to " + c.peer + " failed", ec, c.idle_timeout));
  if (auto read = co_await read_response_head(c, stream, request.method == "HEAD"); !read) {
    co_return tl::unexpected(read.error());
  }
  const auto& header = c.parser->get().base();
  const int status = static_cast<int>(header.result_int());
  Headers headers = response_headers(header);
  std::unique_ptr<ClientResponse> response =
      std::make_unique<StreamedResponse<AsyncStream>>(std::move(connection), status, std::move(headers));
  co_return std::move(response);
}

}  // namespace

asio::awaitable<Result<std::string>> ClientResponse::read_all(std::size_t limit) {
  std::string body;
  std::vector<char> buffer(16384);
  for (;;) {
    std::span<char> space(buffer);
    auto n = co_await read_some(space);
    if (!n) co_return tl::unexpected(n.error());
    if (*n == 0) break;
    if (body.size() + *n > limit) {
      co_return fail(ErrorCode::kPayloadTooLarge,
                     "response body exceeds the limit of " + std::to_string(limit) + " bytes");
    }
    body.append(buffer.data(), *n);
  }
  co_return body;
}

asio::awaitable<Result<std::unique_ptr<ClientResponse>>> fetch(ClientRequest request, ClientOptions options) {
  auto target = parse_url(request.url);
  if (!target) co_return tl::unexpected(target.error());
  auto head = request_head(request, *target);
  if (!head) co_return tl::unexpected(head.error());
  const Clock::time_point deadline = Clock::now() + options.connect_timeout;
  // Named locals, not a co_await among the arguments: g++ 12 mishandles temporaries there.
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  std::string peer = peer_name(*target, options);
  auto connection = std::make_unique<Connection>(executor, std::move(peer), options.idle_timeout);
  if (options.abort) {
    if (options.abort->aborted()) co_return tl::unexpected(connection->canceled());
    connection->watch(options.abort);
  }
  if (target->tls) {
    if (auto prepared = prepare_tls(*connection, options); !prepared)
      co_return tl::unexpected(prepared.error());
  }
  if (auto connected = co_await connect(*connection, *target, options, deadline); !connected) {
    co_return tl::unexpected(connected.error());
  }
  if (!target->tls) co_return co_await exchange<Stream>(std::move(connection), request, *head);
  if (auto secured = co_await handshake(*connection, *target, deadline); !secured) {
    co_return tl::unexpected(secured.error());
  }
  co_return co_await exchange<TlsStream>(std::move(connection), request, *head);
}

asio::awaitable<Result<std::unique_ptr<ClientResponse>>> fetch(ClientRequest request) {
  ClientOptions options;
  co_return co_await fetch(std::move(request), std::move(options));
}

}  // namespace cellblock::http
