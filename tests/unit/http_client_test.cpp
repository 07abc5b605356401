// The outbound client against real sockets: the project's own http::Server (TCP and Unix) and, for TLS, a
// tiny asio::ssl server with a self-signed certificate made by the openssl command line at test time. Every
// client call runs as a coroutine on the servers' io_context; the test thread only waits for its outcome.

#include "http/client.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include "http/server.h"

namespace cellblock::http {
namespace {

using namespace std::chrono_literals;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// What a client coroutine saw, as plain values the test thread can check.
struct Outcome {
  std::optional<Error> error;
  int status = 0;
  Headers headers;
  std::vector<std::string> pieces;  // each read_some, in order
  std::string body;
};

std::string make_temp_dir() {
  char pattern[] = "/tmp/cellblock-client-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(kNoThrow);
}

// Fetches and reads the whole body piece by piece.
asio::awaitable<Outcome> fetch_all(ClientRequest request, ClientOptions options = {}) {
  Outcome outcome;
  auto response = co_await fetch(std::move(request), std::move(options));
  if (!response) {
    outcome.error = response.error();
    co_return outcome;
  }
  outcome.status = (*response)->status();
  outcome.headers = (*response)->headers();
  std::vector<char> buffer(4096);
  for (;;) {
    std::span<char> space(buffer);
    auto n = co_await (*response)->read_some(space);
    if (!n) {
      outcome.error = n.error();
      co_return outcome;
    }
    if (*n == 0) co_return outcome;
    outcome.pieces.emplace_back(buffer.data(), *n);
    outcome.body.append(buffer.data(), *n);
  }
}

ClientRequest get(std::string url) {
  ClientRequest request;
  request.url = std::move(url);
  return request;
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir();
    server_ = std::make_unique<Server>(io_.get_executor());
    Handler entry = [this](Request& request, BodyReader& body, ResponseWriter& writer) {
      return handle(request, body, writer);
    };
    auto port = server_->listen_tcp("127.0.0.1", 0, entry);
    ASSERT_TRUE(port);
    port_ = *port;
    ASSERT_TRUE(server_->listen_unix(dir_ + "/agent.sock", entry));
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (!thread_.joinable()) return;  // skipped before starting
    asio::post(io_, [this] {
      server_->stop();
      release_.cancel();
      gate_.cancel();
      beast_close(tls_acceptor_);
    });
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!io_.stopped() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    if (!io_.stopped()) {
      ADD_FAILURE() << "coroutines still running after the server stopped";
      io_.stop();
    }
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  static void beast_close(tcp::acceptor& acceptor) {
    boost::system::error_code ignored;
    acceptor.close(ignored);
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }

  // Runs a client coroutine on the io_context and waits (bounded) for its result.
  template <class T>
  T run(asio::awaitable<T> work) {
    auto future = asio::co_spawn(io_, std::move(work), asio::use_future);
    if (future.wait_for(5s) != std::future_status::ready) {
      io_.stop();
      throw std::runtime_error("the client coroutine did not finish within 5 s");
    }
    return future.get();
  }

  asio::awaitable<void> handle(Request& request, BodyReader& body, ResponseWriter& writer) {
    if (request.path == "/hello") {
      Response response = text_response(200, "hello, client");
      response.headers.add("X-Seen-Host", std::string(request.header("Host").value_or("")));
      co_await writer.send(std::move(response));
    } else if (request.path == "/echo") {
      auto text = co_await body.read_all(1 << 20);
      std::string answer = request.method + "|" + std::string(request.header("X-Test").value_or("-")) + "|" +
                           (text ? *text : std::string("<error>"));
      Response response = text_response(201, std::move(answer));
      co_await writer.send(std::move(response));
    } else if (request.path == "/stream") {
      // The second chunk waits for the client to have read the first: proof that bodies are not buffered.
      Headers headers;
      headers.add("Content-Type", "text/event-stream");
      co_await writer.begin_stream(200, std::move(headers));
      co_await writer.write_chunk("data: first\n\n");
      gate_.expires_after(3s);
      co_await gate_.async_wait(kNoThrow);
      second_sent_ = true;
      co_await writer.write_chunk("data: second\n\n");
      co_await writer.end_stream();
    } else if (request.path == "/stall") {
      Headers headers;
      co_await writer.begin_stream(200, std::move(headers));
      co_await writer.write_chunk("partial");
      co_await release_.async_wait(kNoThrow);
      co_await writer.end_stream();
    } else if (request.path == "/silent") {
      co_await release_.async_wait(kNoThrow);
    } else if (request.path == "/big") {
      Response response = text_response(200, std::string(1000, 'x'));
      co_await writer.send(std::move(response));
    } else {
      Response response = text_response(404, "no such path");
      co_await writer.send(std::move(response));
    }
  }

  asio::io_context io_;
  std::thread thread_;
  std::string dir_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  asio::steady_timer gate_{io_};
  asio::steady_timer release_{io_, asio::steady_timer::time_point::max()};
  bool second_sent_ = false;
  tcp::acceptor tls_acceptor_{io_};
};

TEST_F(ClientTest, GetReadsASizedBody) {
  Outcome outcome = run(fetch_all(get(url("/hello?x=1"))));
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, "hello, client");
  EXPECT_EQ(outcome.headers.get("Content-Length"), "13");
  EXPECT_EQ(outcome.headers.get("X-Seen-Host"), "127.0.0.1:" + std::to_string(port_));
}

TEST_F(ClientTest, PostSendsTheBodyAndHeaders) {
  ClientRequest request;
  request.method = "POST";
  request.url = url("/echo");
  request.headers.add("X-Test", "abc");
  request.headers.add("Content-Length", "999");  // the client owns framing: ignored
  request.body = "{\"code\":\"1+1\"}";
  Outcome outcome = run(fetch_all(std::move(request)));
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.status, 201);
  EXPECT_EQ(outcome.body, "POST|abc|{\"code\":\"1+1\"}");
}

asio::awaitable<Outcome> read_stream_step_by_step(std::string url, asio::steady_timer& gate,
                                                  bool& second_sent) {
  Outcome outcome;
  ClientRequest request = get(std::move(url));
  auto response = co_await fetch(std::move(request));
  if (!response) {
    outcome.error = response.error();
    co_return outcome;
  }
  outcome.status = (*response)->status();
  std::vector<char> buffer(4096);
  std::span<char> space(buffer);
  auto first = co_await (*response)->read_some(space);
  if (!first) {
    outcome.error = first.error();
    co_return outcome;
  }
  outcome.pieces.emplace_back(buffer.data(), *first);
  // The server is still parked before its second chunk; record that, then let it go on.
  if (second_sent) outcome.pieces.emplace_back("<second chunk already sent>");
  gate.cancel();
  for (;;) {
    auto n = co_await (*response)->read_some(space);
    if (!n) {
      outcome.error = n.error();
      co_return outcome;
    }
    if (*n == 0) co_return outcome;
    outcome.pieces.emplace_back(buffer.data(), *n);
  }
}

TEST_F(ClientTest, ChunkedBodyArrivesIncrementally) {
  Outcome outcome = run(read_stream_step_by_step(url("/stream"), gate_, second_sent_));
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.status, 200);
  ASSERT_EQ(outcome.pieces.size(), 2u);
  EXPECT_EQ(outcome.pieces[0], "data: first\n\n");
  EXPECT_EQ(outcome.pieces[1], "data: second\n\n");
}

TEST_F(ClientTest, UnixSocketUsesTheUrlForPathAndHost) {
  ClientOptions options;
  options.unix_socket = dir_ + "/agent.sock";
  Outcome outcome = run(fetch_all(get("http://agent.local/hello"), options));
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.body, "hello, client");
  EXPECT_EQ(outcome.headers.get("X-Seen-Host"), "agent.local");
}

TEST_F(ClientTest, RefusedConnectionIsUnavailableAndNamesTheAddress) {
  // A port that was just free: bound, never listened on, closed.
  tcp::acceptor probe(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t port = probe.local_endpoint().port();
  probe.close();
  const std::string address = "127.0.0.1:" + std::to_string(port);
  Outcome outcome = run(fetch_all(get("http://" + address + "/")));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kUnavailable);
  EXPECT_NE(outcome.error->message.find("cannot connect to " + address), std::string::npos)
      << outcome.error->message;
  EXPECT_NE(outcome.error->message.find("refused"), std::string::npos) << outcome.error->message;

  ClientOptions options;
  options.unix_socket = dir_ + "/missing.sock";
  outcome = run(fetch_all(get("http://agent/"), options));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kUnavailable);
  EXPECT_NE(outcome.error->message.find(options.unix_socket), std::string::npos) << outcome.error->message;
}

TEST_F(ClientTest, UnknownHostsAndOverlongSocketPathsFailBeforeConnecting) {
  // RFC 6761: names under .invalid never resolve.
  Outcome outcome = run(fetch_all(get("http://no-such-host.invalid/")));
  ASSERT_TRUE(outcome.error);
  EXPECT_TRUE(outcome.error->code == ErrorCode::kUnavailable ||
              outcome.error->code == ErrorCode::kDeadlineExceeded);
  EXPECT_NE(outcome.error->message.find("cannot resolve no-such-host.invalid"), std::string::npos)
      << outcome.error->message;

  ClientOptions options;
  options.unix_socket = dir_ + "/" + std::string(200, 's') + ".sock";
  outcome = run(fetch_all(get("http://agent/"), options));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kInvalidArgument);
  EXPECT_NE(outcome.error->message.find("Unix socket path too long"), std::string::npos)
      << outcome.error->message;
}

TEST_F(ClientTest, StalledServerHitsTheIdleTimeout) {
  ClientOptions options;
  options.idle_timeout = 100ms;
  Outcome outcome = run(fetch_all(get(url("/stall")), options));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kDeadlineExceeded) << outcome.error->message;
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, "partial");

  outcome = run(fetch_all(get(url("/silent")), options));  // no head at all
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kDeadlineExceeded) << outcome.error->message;
  EXPECT_EQ(outcome.status, 0);
}

asio::awaitable<void> abort_after(std::shared_ptr<AbortHandle> abort, std::chrono::milliseconds delay) {
  co_await sleep_for(delay);
  abort->abort();
}

asio::awaitable<Outcome> fetch_and_abort_mid_body(std::string url) {
  auto abort = std::make_shared<AbortHandle>();
  asio::any_io_executor executor = co_await asio::this_coro::executor;
  asio::co_spawn(executor, abort_after(abort, 50ms), asio::detached);
  ClientOptions options;
  options.abort = abort;
  ClientRequest request = get(std::move(url));
  co_return co_await fetch_all(std::move(request), std::move(options));
}

TEST_F(ClientTest, AbortMidBodyIsCanceled) {
  Outcome outcome = run(fetch_and_abort_mid_body(url("/stall")));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kCanceled) << outcome.error->message;
  EXPECT_EQ(outcome.body, "partial");

  ClientOptions options;
  options.abort = std::make_shared<AbortHandle>();
  options.abort->abort();
  outcome = run(fetch_all(get(url("/hello")), options));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kCanceled);
}

TEST_F(ClientTest, MalformedUrlsAndSchemesAreInvalidArguments) {
  for (const char* bad : {"ftp://example.com/file", "not a url", "http://", "http://host:99999/",
                          "example.com/x", "http://user:secret@example.com/"}) {
    Outcome outcome = run(fetch_all(get(bad)));
    ASSERT_TRUE(outcome.error) << bad;
    EXPECT_EQ(outcome.error->code, ErrorCode::kInvalidArgument) << bad << ": " << outcome.error->message;
  }
  ClientRequest request = get(url("/hello"));
  request.headers.add("X-Injected", "a\r\nEvil: 1");
  Outcome outcome = run(fetch_all(std::move(request)));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kInvalidArgument);
}

asio::awaitable<std::pair<Result<std::string>, Result<std::string>>> read_all_twice(std::string url) {
  ClientRequest first = get(url);
  auto small = co_await fetch(std::move(first));
  if (!small)
    co_return std::make_pair(Result<std::string>(tl::unexpected(small.error())), Result<std::string>());
  Result<std::string> too_large = co_await (*small)->read_all(100);
  ClientRequest second = get(url);
  auto exact = co_await fetch(std::move(second));
  if (!exact)
    co_return std::make_pair(std::move(too_large), Result<std::string>(tl::unexpected(exact.error())));
  Result<std::string> fits = co_await (*exact)->read_all(1000);
  co_return std::make_pair(std::move(too_large), std::move(fits));
}

TEST_F(ClientTest, ReadAllEnforcesItsLimit) {
  auto [too_large, fits] = run(read_all_twice(url("/big")));
  ASSERT_FALSE(too_large);
  EXPECT_EQ(too_large.error().code, ErrorCode::kPayloadTooLarge);
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_EQ(fits->size(), 1000u);
}

// TLS: one self-signed certificate for the whole suite (CN=localhost, SAN localhost and 127.0.0.1).
class ClientTlsTest : public ClientTest {
 protected:
  static void SetUpTestSuite() {
    cert_dir_ = new std::string(make_temp_dir());
    const std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
        *cert_dir_ + "/key.pem -out " + *cert_dir_ + "/cert.pem >/dev/null 2>&1";
    openssl_ok_ = std::system(command.c_str()) == 0;
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*cert_dir_);
    delete cert_dir_;
    cert_dir_ = nullptr;
  }

  void SetUp() override {
    if (!openssl_ok_) GTEST_SKIP() << "the openssl command line could not make a certificate";
    ClientTest::SetUp();
    server_context_.use_certificate_chain_file(*cert_dir_ + "/cert.pem");
    server_context_.use_private_key_file(*cert_dir_ + "/key.pem", ssl::context::pem);
  }

  std::string ca_file() const { return *cert_dir_ + "/cert.pem"; }

  // Accepts one connection on `address`, answers one request with a fixed response, and closes.
  std::uint16_t serve_once(const std::string& address) {
    tcp::endpoint endpoint(asio::ip::make_address(address), 0);
    tls_acceptor_.open(endpoint.protocol());
    tls_acceptor_.bind(endpoint);
    tls_acceptor_.listen();
    asio::co_spawn(io_, answer_one(), asio::detached);
    return tls_acceptor_.local_endpoint().port();
  }

  asio::awaitable<void> answer_one() {
    auto [accept_ec, socket] = co_await tls_acceptor_.async_accept(kNoThrow);
    if (accept_ec) co_return;
    ssl::stream<tcp::socket> tls(std::move(socket), server_context_);
    auto [handshake_ec] = co_await tls.async_handshake(ssl::stream_base::server, kNoThrow);
    if (handshake_ec) co_return;
    const char* name = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name);
    server_name_ = name ? name : "";
    std::string request;
    auto [read_ec, n] =
        co_await asio::async_read_until(tls, asio::dynamic_buffer(request), "\r\n\r\n", kNoThrow);
    if (read_ec) co_return;
    static constexpr std::string_view kAnswer =
        "HTTP/1.1 200 OK\r\nContent-Length: 14\r\nConnection: close\r\n\r\nhello over tls";
    co_await asio::async_write(tls, asio::buffer(kAnswer), kNoThrow);
  }

  static std::string* cert_dir_;
  static bool openssl_ok_;
  ssl::context server_context_{ssl::context::tls_server};
  std::string server_name_;
};

std::string* ClientTlsTest::cert_dir_ = nullptr;
bool ClientTlsTest::openssl_ok_ = false;

TEST_F(ClientTlsTest, TrustedByTheCaFileWithSni) {
  const std::uint16_t port = serve_once("127.0.0.1");
  ClientOptions options;
  options.ca_file = ca_file();
  Outcome outcome = run(fetch_all(get("https://localhost:" + std::to_string(port) + "/v1/models"), options));
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, "hello over tls");
  EXPECT_EQ(server_name_, "localhost");
}

TEST_F(ClientTlsTest, IpAddressIsCheckedAgainstTheCertificate) {
  const std::uint16_t port = serve_once("127.0.0.1");
  ClientOptions options;
  options.ca_file = ca_file();
  Outcome outcome = run(fetch_all(get("https://127.0.0.1:" + std::to_string(port) + "/"), options));
  ASSERT_FALSE(outcome.error) << outcome.error->message;
  EXPECT_EQ(outcome.body, "hello over tls");
  EXPECT_EQ(server_name_, "");  // no SNI for an IP address
}

TEST_F(ClientTlsTest, UntrustedCertificateFailsClearly) {
  const std::uint16_t port = serve_once("127.0.0.1");
  const std::string address = "localhost:" + std::to_string(port);
  Outcome outcome = run(fetch_all(get("https://" + address + "/")));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kUnavailable);
  EXPECT_NE(outcome.error->message.find("TLS handshake with " + address + " failed"), std::string::npos)
      << outcome.error->message;
  EXPECT_NE(outcome.error->message.find("certificate verify failed"), std::string::npos)
      << outcome.error->message;
}

TEST_F(ClientTlsTest, CertificateForAnotherHostFails) {
  // Linux routes all of 127/8 to loopback; the certificate names only 127.0.0.1 and localhost.
  const std::uint16_t port = serve_once("127.0.0.2");
  ClientOptions options;
  options.ca_file = ca_file();
  Outcome outcome = run(fetch_all(get("https://127.0.0.2:" + std::to_string(port) + "/"), options));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kUnavailable);
  EXPECT_NE(outcome.error->message.find("does not name this host"), std::string::npos)
      << outcome.error->message;
}

TEST_F(ClientTlsTest, MissingCaFileIsAnInvalidArgument) {
  ClientOptions options;
  options.ca_file = dir_ + "/no-such-ca.pem";
  Outcome outcome = run(fetch_all(get("https://localhost:1/"), options));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->code, ErrorCode::kInvalidArgument) << outcome.error->message;
}

}  // namespace
}  // namespace cellblock::http
