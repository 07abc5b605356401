// The second translation unit that instantiates Beast: the upstream side of the proxy (the response parser).
// The request head and chunk framing towards the upstream are written by hand: they are simple, and every
// field in them was already validated by the server's parser.
#include "http/proxy.h"

#include <array>
#include <cstdio>
#include <optional>
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/connector.h"

namespace cellblock::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using detail::Protocol;
using detail::Stream;
using ResponseParser = bhttp::response_parser<bhttp::buffer_body>;
using namespace asio::experimental::awaitable_operators;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Per direction, per exchange: what bounds the memory of a relayed 50 MB upload or download.
constexpr std::size_t kBufferBytes = 64 * 1024;
constexpr std::uint32_t kMaxUpstreamHeaderBytes = 64 * 1024;

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// RFC 9110 §7.6.1: fields that describe one connection, never forwarded. Content-Length and Expect are
// regenerated or answered by this hop.
bool is_hop_by_hop(std::string_view name) {
  static constexpr std::array<std::string_view, 11> kNames = {
      "connection", "keep-alive",          "proxy-connection",  "te",
      "trailer",    "transfer-encoding",   "upgrade",           "content-length",
      "expect",     "proxy-authorization", "proxy-authenticate"};
  for (std::string_view hop : kNames) {
    if (iequals(name, hop)) return true;
  }
  return false;
}

// The field names a Connection header lists (they are hop-by-hop too), lower case.
std::vector<std::string> connection_tokens(std::string_view value) {
  std::vector<std::string> tokens;
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view token = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty()) tokens.push_back(lower(token));
  }
  return tokens;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  for (const auto& candidate : names) {
    if (iequals(candidate, name)) return true;
  }
  return false;
}

bool is_upgrade_request(const Request& request) {
  auto connection = request.header("Connection");
  return request.header("Upgrade") && connection && contains(connection_tokens(*connection), "upgrade");
}

bool safe_field(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

enum class BodyFraming { kNone, kLength, kChunked };

Result<std::string> request_head(const Request& request, const ForwardOptions& options, BodyFraming framing,
                                 std::uint64_t length, bool upgrade) {
  std::vector<std::string> listed;
  for (const auto& [name, value] : request.headers.items()) {
    if (iequals(name, "Connection")) {
      auto tokens = connection_tokens(value);
      listed.insert(listed.end(), tokens.begin(), tokens.end());
    }
  }
  std::string head = request.method + " " + request.target + " HTTP/1.1\r\n";
  auto append = [&head](std::string_view name, std::string_view value) {
    head.append(name).append(": ").append(value).append("\r\n");
  };
  for (const auto& [name, value] : request.headers.items()) {
    if (is_hop_by_hop(name) || contains(listed, name) || contains(options.remove_headers, name) ||
        options.add_headers.get(name)) {
      continue;
    }
    append(name, value);
  }
  for (const auto& [name, value] : options.add_headers.items()) {
    if (name.empty() || !safe_field(name) || !safe_field(value)) {
      return fail(ErrorCode::kInternal, "invalid header to add to a proxied request: '" + name + "'");
    }
    append(name, value);
  }
  if (upgrade) {
    append("Connection", "Upgrade");
    append("Upgrade", *request.header("Upgrade"));
  } else {
    append("Connection", "close");  // one upstream connection per exchange
  }
  if (framing == BodyFraming::kLength) append("Content-Length", std::to_string(length));
  if (framing == BodyFraming::kChunked) append("Transfer-Encoding", "chunked");
  head.append("\r\n");
  return head;
}

Headers response_headers(const bhttp::response_header<>& header) {
  std::vector<std::string> listed = connection_tokens(header[bhttp::field::connection]);
  Headers headers;
  for (const auto& field : header) {
    std::string_view name = field.name_string();
    if (is_hop_by_hop(name) || contains(listed, name)) continue;
    headers.add(std::string(name), std::string(field.value()));
  }
  return headers;
}

asio::awaitable<Status> connect(Stream& stream, const Upstream& upstream, std::chrono::seconds timeout) {
  asio::steady_timer wakeup(stream.get_executor());
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto opened = co_await detail::open_connection(stream, upstream, deadline, wakeup);
  if (opened) co_return Status{};
  const detail::ConnectFailure& why = opened.error();
  switch (why.step) {
    case detail::ConnectFailure::Step::kSocketPath:
      co_return fail(ErrorCode::kSandboxUnavailable, "upstream socket path too long: " + upstream.unix_path);
    case detail::ConnectFailure::Step::kResolve:
      co_return fail(ErrorCode::kSandboxUnavailable,
                     "cannot resolve upstream " + upstream.host + ": " + why.ec.message());
    case detail::ConnectFailure::Step::kConnect:
      break;
  }
  const bool tcp = upstream.unix_path.empty();
  const std::string name = tcp ? upstream.host + ":" + std::to_string(upstream.port) : upstream.unix_path;
  co_return fail(ErrorCode::kSandboxUnavailable, "cannot connect to " + name + ": " + why.ec.message());
}

// The state one forward() shares between its request and response halves.
struct Exchange {
  Exchange(Request& request, BodyReader& body, ResponseWriter& writer, asio::any_io_executor executor)
      : request(request), body(body), writer(writer), upstream(std::move(executor)) {}

  Request& request;
  BodyReader& body;
  ResponseWriter& writer;
  Stream upstream;
  beast::flat_buffer upstream_buffer;
  bool response_over = false;  // the response half has finished, successfully or not
  bool client_gone = false;
  bool aborted = false;

  void close_upstream() {
    beast::error_code ignored;
    upstream.socket().shutdown(Protocol::socket::shutdown_both, ignored);
    upstream.socket().close(ignored);
  }
  // Both sides at once, abruptly: the client sees a reset, the upstream handler sees its client leave.
  void cut_both() {
    close_upstream();
    writer.abort();
  }
};

asio::awaitable<bool> write_upstream(Exchange& x, std::string_view data, bool chunked) {
  if (!chunked) {
    auto [ec, n] = co_await asio::async_write(x.upstream, asio::buffer(data), kNoThrow);
    co_return !ec;
  }
  char size_line[24];
  int size_length = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
  static constexpr std::string_view kCrlf = "\r\n";
  std::array<asio::const_buffer, 3> buffers = {asio::buffer(size_line, static_cast<std::size_t>(size_length)),
                                               asio::buffer(data), asio::buffer(kCrlf)};
  auto [ec, n] = co_await asio::async_write(x.upstream, buffers, kNoThrow);
  co_return !ec;
}

enum class PumpEnd { kDone, kClientGone, kUpstreamGone };

asio::awaitable<PumpEnd> pump_request_body(Exchange& x, bool chunked) {
  std::vector<char> buffer(kBufferBytes);
  for (;;) {
    auto n = co_await x.body.read_some(std::span<char>(buffer));
    if (!n) co_return PumpEnd::kClientGone;
    if (*n == 0) break;
    if (!co_await write_upstream(x, std::string_view(buffer.data(), *n), chunked))
      co_return PumpEnd::kUpstreamGone;
  }
  if (chunked) {
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    auto [ec, n] = co_await asio::async_write(x.upstream, asio::buffer(kLastChunk), kNoThrow);
    if (ec) co_return PumpEnd::kUpstreamGone;
  }
  co_return PumpEnd::kDone;
}

// Waits until cancelled (the response half finished).
asio::awaitable<void> park() {
  asio::steady_timer timer(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  co_await timer.async_wait(kNoThrow);
}

// The request half: streams the body, then watches for the client leaving while the response streams. Returns
// only when the client went away (it has cut both sides then); otherwise the response half's end cancels it.
asio::awaitable<void> request_half(Exchange& x, bool chunked, bool upgrade) {
  PumpEnd end = co_await pump_request_body(x, chunked);
  if (x.response_over) co_return;  // cancelled: an early answer finished before the body was read
  if (end == PumpEnd::kClientGone) {
    x.client_gone = true;
    x.cut_both();
    co_return;
  }
  // After an upgrade the raw relay sees the close itself; with an unsent body the client socket still holds
  // request bytes, which make it readable without a close.
  if (end == PumpEnd::kDone && !upgrade) {
    co_await x.writer.wait_client_closed();
    if (x.response_over) co_return;
    x.client_gone = true;
    x.cut_both();
    co_return;
  }
  co_await park();
}

asio::awaitable<void> copy_client_to_upstream(Exchange& x, RawStream& client) {
  std::vector<char> buffer(kBufferBytes);
  for (;;) {
    auto n = co_await client.read_some(std::span<char>(buffer));
    if (!n || *n == 0) break;
    auto [ec, written] = co_await asio::async_write(x.upstream, asio::buffer(buffer.data(), *n), kNoThrow);
    if (ec) break;
  }
  client.close();
  x.close_upstream();
}

asio::awaitable<void> copy_upstream_to_client(Exchange& x, RawStream& client) {
  std::vector<char> buffer(kBufferBytes);
  for (;;) {
    auto [ec, n] = co_await x.upstream.async_read_some(asio::buffer(buffer), kNoThrow);
    if (ec || n == 0) break;
    if (!co_await client.write(std::string_view(buffer.data(), n))) break;
  }
  client.close();
  x.close_upstream();
}

asio::awaitable<Status> relay_upgrade(Exchange& x, const bhttp::response_header<>& header) {
  Response switching;
  switching.status = 101;
  switching.headers = response_headers(header);
  switching.headers.add("Connection", "Upgrade");
  switching.headers.add("Upgrade", std::string(header[bhttp::field::upgrade]));
  auto client = co_await x.writer.upgrade(std::move(switching));
  if (!client) {
    x.client_gone =
        x.writer.started();  // otherwise the writer cannot switch protocols: the caller may answer
    x.close_upstream();
    co_return tl::unexpected(client.error());
  }
  RawStream& raw = **client;
  // Bytes the upstream sent right behind its 101 header were read with it.
  if (x.upstream_buffer.size() > 0) {
    std::string early = beast::buffers_to_string(x.upstream_buffer.data());
    x.upstream_buffer.consume(early.size());
    if (!co_await raw.write(early)) {
      raw.close();
      x.close_upstream();
      co_return Status{};
    }
  }
  co_await (copy_client_to_upstream(x, raw) || copy_upstream_to_client(x, raw));
  co_return Status{};
}

// Reads the upstream's answer head, skipping interim 1xx answers other than 101.
asio::awaitable<Status> read_response_head(Exchange& x, std::optional<ResponseParser>& parser) {
  for (;;) {
    parser.emplace();
    parser->header_limit(kMaxUpstreamHeaderBytes);
    parser->body_limit(boost::none);
    if (x.request.method == "HEAD") parser->skip(true);
    auto [ec, n] = co_await bhttp::async_read_header(x.upstream, x.upstream_buffer, *parser, kNoThrow);
    if (ec) co_return fail(ErrorCode::kSandboxUnavailable, "the upstream did not answer: " + ec.message());
    unsigned status = parser->get().result_int();
    if (status < 100 || status >= 200 || status == 101) co_return Status{};
  }
}

asio::awaitable<Status> relay_response(Exchange& x, bool upgrade) {
  std::optional<ResponseParser> parser;
  if (auto head = co_await read_response_head(x, parser); !head) co_return head;
  const auto& header = parser->get().base();
  const int status = static_cast<int>(header.result_int());
  if (status == 101) {
    if (!upgrade) co_return fail(ErrorCode::kSandboxUnavailable, "the upstream switched protocols unasked");
    co_return co_await relay_upgrade(x, header);
  }
  Headers headers = response_headers(header);
  auto length = parser->content_length();
  const bool head_request = x.request.method == "HEAD";
  bool sent = false;
  if (status == 204 || status == 304 || (head_request && !length)) {
    Response response;
    response.status = status;
    response.headers = std::move(headers);
    sent = co_await x.writer.send(std::move(response));
    if (!sent) {
      x.client_gone = true;
      co_return fail(ErrorCode::kCanceled, "the client went away");
    }
    co_return Status{};
  }
  if (length) {
    sent = co_await x.writer.begin_sized(status, std::move(headers), *length);
  } else {
    sent = co_await x.writer.begin_stream(status, std::move(headers));
  }
  if (!sent) {
    x.client_gone = true;
    co_return fail(ErrorCode::kCanceled, "the client went away");
  }
  std::vector<char> buffer(kBufferBytes);
  while (!parser->is_done()) {
    auto& body = parser->get().body();
    body.data = buffer.data();
    body.size = buffer.size();
    auto [ec, n] = co_await bhttp::async_read_some(x.upstream, x.upstream_buffer, *parser, kNoThrow);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      // The sandbox died (or was killed) mid-answer: the client must see a cut, never a clean end.
      x.writer.abort();
      co_return fail(ErrorCode::kUnavailable,
                     "the upstream closed the connection mid-response: " + ec.message());
    }
    std::size_t got = buffer.size() - parser->get().body().size;
    if (got > 0 && !co_await x.writer.write_chunk(std::string_view(buffer.data(), got))) {
      x.client_gone = true;
      co_return fail(ErrorCode::kCanceled, "the client went away");
    }
  }
  if (!co_await x.writer.end_stream()) {
    x.client_gone = true;
    co_return fail(ErrorCode::kCanceled, "the client went away");
  }
  co_return Status{};
}

asio::awaitable<void> response_half(Exchange& x, bool upgrade, Status& result) {
  result = co_await relay_response(x, upgrade);
  x.response_over = true;
  if (x.client_gone) x.close_upstream();  // a disconnect must reach the upstream handler
}

}  // namespace

asio::awaitable<Status> forward(Request& request, BodyReader& body, ResponseWriter& writer,
                                const Upstream& upstream, const ForwardOptions& options) {
  if (options.abort && options.abort->aborted()) {
    co_return fail(ErrorCode::kSandboxUnavailable, "the sandbox is no longer running");
  }
  Exchange x(request, body, writer, co_await asio::this_coro::executor);
  AbortHandle::Registration registration;
  if (options.abort) {
    registration = options.abort->on_abort([&x] {
      x.aborted = true;
      x.cut_both();
    });
  }
  auto aborted = [] { return fail(ErrorCode::kCanceled, "the exchange was aborted"); };

  if (auto connected = co_await connect(x.upstream, upstream, options.connect_timeout); !connected) {
    if (x.aborted) co_return aborted();
    co_return connected;
  }
  const bool upgrade = is_upgrade_request(request);
  const auto declared = body.declared_length();
  BodyFraming framing = BodyFraming::kNone;
  if (declared) {
    framing = BodyFraming::kLength;
  } else if (request.header("Transfer-Encoding")) {
    framing = BodyFraming::kChunked;
  }
  auto head = request_head(request, options, framing, declared.value_or(0), upgrade);
  if (!head) co_return tl::unexpected(head.error());
  auto [ec, n] = co_await asio::async_write(x.upstream, asio::buffer(*head), kNoThrow);
  if (x.aborted) co_return aborted();
  if (ec) co_return fail(ErrorCode::kSandboxUnavailable, "cannot send the request upstream: " + ec.message());

  Status result = fail(ErrorCode::kCanceled, "the client went away");
  try {
    co_await (request_half(x, framing == BodyFraming::kChunked, upgrade) ||
              response_half(x, upgrade, result));
  } catch (const std::exception& e) {
    x.cut_both();
    co_return fail(ErrorCode::kInternal, std::string("proxying failed: ") + e.what());
  }
  x.close_upstream();
  if (x.aborted) co_return aborted();
  if (x.client_gone) co_return fail(ErrorCode::kCanceled, "the client went away");
  co_return result;
}

}  // namespace cellblock::http
