// The streaming reverse proxy over real sockets: an upstream http::Server on a Unix socket (or TCP), a front
// http::Server on 127.0.0.1 whose handler calls forward(), and a raw blocking HTTP client on the test thread.

#include "http/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include "http/server.h"

namespace cellblock::http {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A blocking HTTP/1.1 client that shows the wire as it is: framing, headers and cuts.
class Client {
 public:
  struct Head {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> header(std::string_view name) const {
      for (const auto& [key, value] : headers) {
        if (iequals(key, name)) return value;
      }
      return std::nullopt;
    }
  };

  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~Client() { close(); }

  bool connected() const { return connected_; }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  std::optional<Head> read_head() {
    std::size_t end;
    while ((end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    std::string text = buffered_.substr(0, end);
    buffered_.erase(0, end + 4);
    Head head;
    std::size_t line_end = text.find("\r\n");
    std::string status_line = text.substr(0, line_end);
    if (status_line.size() < 12 || status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    head.status = std::atoi(status_line.c_str() + 9);
    while (line_end != std::string::npos) {
      std::size_t start = line_end + 2;
      line_end = text.find("\r\n", start);
      std::string line =
          text.substr(start, line_end == std::string::npos ? std::string::npos : line_end - start);
      std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      head.headers.emplace_back(line.substr(0, colon), value);
    }
    return head;
  }

  std::optional<std::string> read_exact(std::size_t size) {
    while (buffered_.size() < size) {
      if (!fill()) return std::nullopt;
    }
    std::string out = buffered_.substr(0, size);
    buffered_.erase(0, size);
    return out;
  }

  // The next chunk's data; "" for the last chunk; nullopt when the connection ends first.
  std::optional<std::string> read_chunk() {
    std::size_t end;
    while ((end = buffered_.find("\r\n")) == std::string::npos) {
      if (!fill()) return std::nullopt;
    }
    std::size_t size = std::strtoul(buffered_.substr(0, end).c_str(), nullptr, 16);
    buffered_.erase(0, end + 2);
    auto data = read_exact(size + 2);
    if (!data || data->substr(size) != "\r\n") return std::nullopt;
    data->resize(size);
    return data;
  }

  // A whole body: by Content-Length, or chunked to the last chunk (nullopt when cut).
  std::optional<std::string> read_body(const Head& head) {
    if (auto length = head.header("Content-Length")) return read_exact(std::stoull(*length));
    std::string body;
    for (;;) {
      auto chunk = read_chunk();
      if (!chunk) return std::nullopt;
      if (chunk->empty()) return body;
      body += *chunk;
    }
  }

  // True when the server closed or reset the connection (false on a timeout or unexpected data).
  bool wait_closed() {
    char byte;
    ssize_t n = ::recv(fd_, &byte, 1, 0);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  bool has_buffered() const { return !buffered_.empty(); }

 private:
  bool fill() {
    char chunk[65536];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffered_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffered_;
};

struct Outcome {
  Status status;
  bool started_before_answer = false;
};

char pattern_byte(std::uint64_t i) {
  return static_cast<char>((i * 31 + 7) % 251);
}

std::string get_request(std::string_view target, std::string_view extra = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: sandbox\r\n" + std::string(extra) + "\r\n";
}

template <class Predicate>
bool eventually(Predicate predicate, std::chrono::milliseconds limit = 5000ms) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

class ProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cellblock-proxy-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    upstream_.unix_path = dir_ + "/agent.sock";
    abort_ = std::make_shared<AbortHandle>();
  }

  void TearDown() override {
    if (thread_.joinable()) {
      asio::post(io_, [this] {
        if (upstream_server_) upstream_server_->stop();
        if (front_server_) front_server_->stop();
      });
      // Every coroutine unwinds once its connection is closed and the loop runs out of work; stop it anyway
      // if one lingers (a failed test).
      if (!eventually([this] { return io_.stopped(); }, 3000ms)) {
        ADD_FAILURE() << "coroutines still running after the servers stopped";
        io_.stop();
      }
      thread_.join();
    }
    std::filesystem::remove_all(dir_);
  }

  // Starts the upstream (a Unix socket unless `tcp`) with `handler` and the front proxy, then the loop.
  void start(Handler handler, bool tcp = false) {
    upstream_handler_ = std::move(handler);
    upstream_server_ = std::make_unique<Server>(io_.get_executor());
    Handler upstream_entry = [this](Request& request, BodyReader& body, ResponseWriter& writer) {
      return upstream_handler_(request, body, writer);
    };
    if (tcp) {
      auto port = upstream_server_->listen_tcp("127.0.0.1", 0, upstream_entry);
      ASSERT_TRUE(port);
      upstream_ = Upstream{"", "127.0.0.1", *port};
    } else {
      ASSERT_TRUE(upstream_server_->listen_unix(upstream_.unix_path, upstream_entry));
    }
    start_front();
  }

  void start_front() {
    front_server_ = std::make_unique<Server>(io_.get_executor());
    auto port = front_server_->listen_tcp("127.0.0.1", 0,
                                          [this](Request& request, BodyReader& body, ResponseWriter& writer) {
                                            return front(request, body, writer);
                                          });
    ASSERT_TRUE(port);
    front_port_ = *port;
    thread_ = std::thread([this] { io_.run(); });
  }

  asio::awaitable<void> front(Request& request, BodyReader& body, ResponseWriter& writer) {
    ForwardOptions options;
    options.add_headers.add("E2b-Sandbox-Port", "49999");
    options.remove_headers.push_back("X-Secret");
    options.abort = abort_;
    Status status = co_await forward(request, body, writer, upstream_, options);
    bool started = writer.started();
    record(status, started);
    if (!status && status.error().code == ErrorCode::kSandboxUnavailable) {
      std::string text = R"({"sandboxId":"sbx","message":"The sandbox was not found","code":502})";
      Response answer = json_response(502, std::move(text));
      co_await writer.send(std::move(answer));
    }
  }

  void record(Status status, bool started) {
    std::lock_guard lock(mutex_);
    outcomes_.push_back(Outcome{std::move(status), started});
    changed_.notify_all();
  }

  std::optional<Outcome> next_outcome() {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, 5s, [this] { return !outcomes_.empty(); })) return std::nullopt;
    Outcome outcome = std::move(outcomes_.front());
    outcomes_.pop_front();
    return outcome;
  }

  asio::io_context io_;
  std::thread thread_;
  std::string dir_;
  Upstream upstream_;
  std::shared_ptr<AbortHandle> abort_;
  Handler upstream_handler_;
  std::unique_ptr<Server> upstream_server_;
  std::unique_ptr<Server> front_server_;
  std::uint16_t front_port_ = 0;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Outcome> outcomes_;
};

// Answers with what the upstream saw: method, target, lower-cased headers and body.
asio::awaitable<void> echo(Request& request, BodyReader& body, ResponseWriter& writer) {
  auto text = co_await body.read_all(1 << 20);
  json::object headers;
  for (const auto& [name, value] : request.headers.items()) {
    std::string key = name;
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    headers[key] = value;
  }
  json::object seen;
  seen["method"] = request.method;
  seen["target"] = request.target;
  seen["headers"] = headers;
  seen["body"] = text ? *text : std::string("<error>");
  Response response = json_response(200, json::serialize(seen));
  co_await writer.send(std::move(response));
}

json::object parse_object(const std::string& text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  EXPECT_FALSE(ec) << text;
  return value.is_object() ? value.as_object() : json::object{};
}

TEST_F(ProxyTest, GetAndPostKeepTheClientConnectionAlive) {
  start(echo);
  Client client(front_port_);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.send(get_request("/health?x=%2F1",
                                      "Connection: keep-alive, X-Hop\r\nX-Hop: 1\r\nX-Secret: s\r\n"
                                      "X-Keep: k\r\nE2b-Sandbox-Port: 1\r\n")));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->header("Transfer-Encoding"));
  auto body = client.read_body(*head);
  ASSERT_TRUE(body);
  auto seen = parse_object(*body);
  EXPECT_EQ(seen["method"], "GET");
  EXPECT_EQ(seen["target"], "/health?x=%2F1");
  auto& headers = seen["headers"].as_object();
  EXPECT_EQ(headers["x-keep"], "k");
  EXPECT_EQ(headers["e2b-sandbox-port"], "49999");  // added, replacing the client's
  EXPECT_EQ(headers["host"], "sandbox");
  EXPECT_FALSE(headers.contains("x-hop"));     // listed in Connection
  EXPECT_FALSE(headers.contains("x-secret"));  // removed by the options
  EXPECT_EQ(headers["connection"], "close");
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->status);

  const std::string payload = "{\"code\":\"1+1\"}";
  ASSERT_TRUE(
      client.send("POST /execute HTTP/1.1\r\nHost: sandbox\r\nContent-Type: application/json\r\n"
                  "Content-Length: " +
                  std::to_string(payload.size()) + "\r\n\r\n" + payload));
  head = client.read_head();
  ASSERT_TRUE(head);  // same connection: keep-alive survived the first exchange
  EXPECT_EQ(head->status, 200);
  body = client.read_body(*head);
  ASSERT_TRUE(body);
  seen = parse_object(*body);
  EXPECT_EQ(seen["method"], "POST");
  EXPECT_EQ(seen["body"], json::value(payload));
  EXPECT_EQ(seen["headers"].as_object()["content-length"], json::value(std::to_string(payload.size())));
  EXPECT_FALSE(seen["headers"].as_object().contains("transfer-encoding"));
}

TEST_F(ProxyTest, EmptyNoContentHeadAndSizedBodiesKeepTheirFraming) {
  const std::size_t big_size = 5 * 1024 * 1024;
  start([big_size](Request& request, BodyReader&, ResponseWriter& writer) -> asio::awaitable<void> {
    Response response;
    if (request.path == "/nocontent") {
      response.status = 204;
    } else if (request.path == "/big") {
      response.body.resize(big_size);
      for (std::size_t i = 0; i < big_size; ++i) response.body[i] = pattern_byte(i);
    }
    co_await writer.send(std::move(response));
  });
  Client client(front_port_);
  ASSERT_TRUE(client.send(get_request("/empty")));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), "0");
  EXPECT_FALSE(head->header("Transfer-Encoding"));

  ASSERT_TRUE(client.send(get_request("/nocontent")));
  head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 204);
  EXPECT_FALSE(head->header("Content-Length"));
  EXPECT_FALSE(head->header("Transfer-Encoding"));

  ASSERT_TRUE(client.send("HEAD /big HTTP/1.1\r\nHost: sandbox\r\n\r\n"));
  head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("Content-Length"), std::to_string(big_size));

  ASSERT_TRUE(client.send(get_request("/big")));  // would misparse if the HEAD answer had carried a body
  head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Content-Length"), std::to_string(big_size));
  EXPECT_FALSE(head->header("Transfer-Encoding"));
  auto body = client.read_body(*head);
  ASSERT_TRUE(body);
  ASSERT_EQ(body->size(), big_size);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < big_size; ++i) mismatches += (*body)[i] != pattern_byte(i);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_FALSE(client.has_buffered());
}

// An upstream that refuses /execute without reading the body, as an auth check does; echoes anything else.
asio::awaitable<void> refuse_execute(Request& request, BodyReader& body, ResponseWriter& writer) {
  if (request.path == "/execute") {
    Response refusal = error_response(ErrorCode::kUnauthenticated, "unauthorized");
    co_await writer.send(std::move(refusal));
    co_return;
  }
  co_await echo(request, body, writer);
}

TEST_F(ProxyTest, EarlyAnswerBeforeASizedBodyKeepsTheClientConnection) {
  start(refuse_execute);
  Client client(front_port_);
  const std::string body_text(100 * 1024, 'b');
  ASSERT_TRUE(client.send("POST /execute HTTP/1.1\r\nHost: sandbox\r\nContent-Length: " +
                          std::to_string(body_text.size()) + "\r\n\r\n" + body_text));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 401);
  EXPECT_NE(head->header("Connection").value_or(""), "close");
  auto body = client.read_body(*head);
  ASSERT_TRUE(body);
  EXPECT_EQ(parse_object(*body)["code"], 401);
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->status);

  ASSERT_TRUE(
      client.send(get_request("/after")));  // the rest of the refused body was drained, not left behind
  head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  body = client.read_body(*head);
  ASSERT_TRUE(body);
  EXPECT_EQ(parse_object(*body)["target"], "/after");
}

TEST_F(ProxyTest, EarlyAnswerBeforeABodyOfUnknownSizeSaysTheConnectionCloses) {
  start(refuse_execute);
  Client client(front_port_);
  std::string request = "POST /execute HTTP/1.1\r\nHost: sandbox\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 10; ++i) request += "2800\r\n" + std::string(0x2800, 'b') + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(client.send(request));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 401);
  // The server cannot promise to drop the rest, so the client must not send another request here.
  EXPECT_EQ(head->header("Connection"), "close");
  auto body = client.read_body(*head);
  ASSERT_TRUE(body);
  EXPECT_EQ(parse_object(*body)["code"], 401);
  EXPECT_FALSE(client.read_head()) << "the connection ends after the answer";
}

TEST_F(ProxyTest, ChunkedUploadStreamsAndArrivesIntact) {
  const std::uint64_t total = 20 * 1024 * 1024;
  std::atomic<std::uint64_t> received{0};
  start([&received](Request& request, BodyReader& body, ResponseWriter& writer) -> asio::awaitable<void> {
    std::vector<char> buffer(100000);
    std::uint64_t mismatches = 0;
    std::uint64_t position = 0;
    bool failed = false;
    for (;;) {
      auto n = co_await body.read_some(std::span<char>(buffer));
      if (!n) {
        failed = true;
        break;
      }
      if (*n == 0) break;
      for (std::size_t i = 0; i < *n; ++i) mismatches += buffer[i] != pattern_byte(position + i);
      position += *n;
      received = position;
    }
    json::object seen;
    seen["bytes"] = position;
    seen["mismatches"] = mismatches;
    seen["failed"] = failed;
    seen["chunked"] = request.header("Transfer-Encoding").value_or("") == "chunked";
    seen["has_length"] = request.header("Content-Length").has_value();
    Response response = json_response(200, json::serialize(seen));
    co_await writer.send(std::move(response));
  });
  Client client(front_port_);
  ASSERT_TRUE(
      client.send("POST /files?path=%2Fhome%2Fuser%2Fbig HTTP/1.1\r\nHost: sandbox\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n"));
  const std::uint64_t piece = 64 * 1024;
  std::string chunk;
  for (std::uint64_t sent = 0; sent < total; sent += piece) {
    chunk.clear();
    for (std::uint64_t i = 0; i < piece; ++i) chunk.push_back(pattern_byte(sent + i));
    char size_line[32];
    std::snprintf(size_line, sizeof size_line, "%llx\r\n", static_cast<unsigned long long>(piece));
    ASSERT_TRUE(client.send(size_line + chunk + "\r\n"));
    if (sent == 2 * 1024 * 1024) {
      // Streaming, not store-and-forward: the upstream holds data before the client has sent the rest.
      EXPECT_TRUE(eventually([&] { return received.load() >= 1024 * 1024; }))
          << "the upstream saw " << received.load() << " bytes";
    }
  }
  ASSERT_TRUE(client.send("0\r\n\r\n"));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  auto body = client.read_body(*head);
  ASSERT_TRUE(body);
  auto seen = parse_object(*body);
  EXPECT_EQ(seen["bytes"], total);
  EXPECT_EQ(seen["mismatches"], 0);
  EXPECT_EQ(seen["failed"], false);
  EXPECT_EQ(seen["chunked"], true);
  EXPECT_EQ(seen["has_length"], false);
}

TEST_F(ProxyTest, ChunkedResponseArrivesLineByLineAsWritten) {
  std::atomic<bool> got_first{false};
  std::atomic<bool> second_written{false};
  start([&](Request&, BodyReader&, ResponseWriter& writer) -> asio::awaitable<void> {
    Headers headers;
    headers.add("Content-Type", "application/x-ndjson");
    co_await writer.begin_stream(200, headers);
    co_await writer.write_chunk("{\"type\":\"stdout\",\"text\":\"1\"}\n");
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!got_first && std::chrono::steady_clock::now() < deadline) co_await sleep_for(5ms);
    second_written = true;
    co_await writer.write_chunk("{\"type\":\"end_of_execution\"}\n");
    co_await writer.end_stream();
  });
  Client client(front_port_);
  ASSERT_TRUE(client.send("POST /execute HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 2\r\n\r\n{}"));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_EQ(head->header("Content-Type"), "application/x-ndjson");
  std::string lines;
  while (lines.find('\n') == std::string::npos) {
    auto chunk = client.read_chunk();
    ASSERT_TRUE(chunk);
    ASSERT_FALSE(chunk->empty());
    lines += *chunk;
  }
  EXPECT_FALSE(second_written.load()) << "the first line was held back until the second was written";
  EXPECT_EQ(lines, "{\"type\":\"stdout\",\"text\":\"1\"}\n");
  got_first = true;
  lines.clear();
  for (;;) {
    auto chunk = client.read_chunk();
    ASSERT_TRUE(chunk);
    if (chunk->empty()) break;
    lines += *chunk;
  }
  EXPECT_EQ(lines, "{\"type\":\"end_of_execution\"}\n");
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->status);
}

TEST_F(ProxyTest, UpstreamDyingMidStreamCutsTheClientWithoutTheLastChunk) {
  start([](Request&, BodyReader&, ResponseWriter& writer) -> asio::awaitable<void> {
    Headers headers;
    co_await writer.begin_stream(200, headers);
    co_await writer.write_chunk("partial\n");
    co_await sleep_for(50ms);
    writer.abort();  // the sandbox is killed
  });
  Client client(front_port_);
  ASSERT_TRUE(client.send(get_request("/stream")));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  auto chunk = client.read_chunk();
  ASSERT_TRUE(chunk);
  EXPECT_EQ(*chunk, "partial\n");
  EXPECT_FALSE(client.read_chunk()) << "the stream ended cleanly instead of being cut";
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(outcome->status);
  EXPECT_EQ(outcome->status.error().code, ErrorCode::kUnavailable);
}

TEST_F(ProxyTest, SizedBodyCutShortCutsTheClient) {
  start([](Request&, BodyReader&, ResponseWriter& writer) -> asio::awaitable<void> {
    Headers headers;
    co_await writer.begin_sized(200, headers, 1000);
    co_await writer.write_chunk(std::string(400, 'x'));
    co_await sleep_for(50ms);
    writer.abort();
  });
  Client client(front_port_);
  ASSERT_TRUE(client.send(get_request("/download")));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->header("Content-Length"), "1000");
  EXPECT_FALSE(client.read_exact(1000));
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  EXPECT_FALSE(outcome->status);
}

TEST_F(ProxyTest, ClientDisconnectReachesTheUpstreamHandler) {
  std::atomic<bool> upstream_saw_close{false};
  std::atomic<bool> upload_failed{false};
  start([&](Request& request, BodyReader& body, ResponseWriter& writer) -> asio::awaitable<void> {
    if (request.path == "/upload") {
      auto all = co_await body.read_all(1 << 24);
      upload_failed = !all;
      Response done;  // a named local: g++ 12 mishandles braced temporaries inside co_await
      co_await writer.send(std::move(done));
      co_return;
    }
    Headers headers;
    co_await writer.begin_stream(200, headers);
    co_await writer.write_chunk("running\n");
    co_await writer.wait_client_closed();
    upstream_saw_close = true;
  });
  {
    Client client(front_port_);
    ASSERT_TRUE(client.send("POST /execute HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 2\r\n\r\n{}"));
    auto head = client.read_head();
    ASSERT_TRUE(head);
    auto chunk = client.read_chunk();
    ASSERT_TRUE(chunk);
    EXPECT_EQ(*chunk, "running\n");
    EXPECT_FALSE(upstream_saw_close.load());
  }
  EXPECT_TRUE(eventually([&] { return upstream_saw_close.load(); }));
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(outcome->status);
  EXPECT_EQ(outcome->status.error().code, ErrorCode::kCanceled);

  {  // mid-upload
    Client client(front_port_);
    ASSERT_TRUE(client.send("POST /upload HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 1000000\r\n\r\n" +
                            std::string(300000, 'u')));
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(eventually([&] { return upload_failed.load(); }));
  outcome = next_outcome();
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(outcome->status);
  EXPECT_EQ(outcome->status.error().code, ErrorCode::kCanceled);
}

TEST_F(ProxyTest, AbortCutsOpenStreamsAndRefusesNewOnes) {
  std::atomic<int> upstream_saw_close{0};
  start([&](Request&, BodyReader&, ResponseWriter& writer) -> asio::awaitable<void> {
    Headers headers;
    co_await writer.begin_stream(200, headers);
    co_await writer.write_chunk("waiting\n");
    co_await writer.wait_client_closed();
    ++upstream_saw_close;
  });
  Client first(front_port_);
  Client second(front_port_);
  for (Client* client : {&first, &second}) {
    ASSERT_TRUE(client->send(get_request("/wait")));
    auto head = client->read_head();
    ASSERT_TRUE(head);
    auto chunk = client->read_chunk();
    ASSERT_TRUE(chunk);
    EXPECT_EQ(*chunk, "waiting\n");
  }
  asio::post(io_, [this] { abort_->abort(); });
  for (Client* client : {&first, &second}) {
    EXPECT_FALSE(client->read_chunk()) << "the stream was not cut";
    EXPECT_TRUE(client->wait_closed());
  }
  EXPECT_TRUE(eventually([&] { return upstream_saw_close.load() == 2; }));
  for (int i = 0; i < 2; ++i) {
    auto outcome = next_outcome();
    ASSERT_TRUE(outcome);
    ASSERT_FALSE(outcome->status);
    EXPECT_EQ(outcome->status.error().code, ErrorCode::kCanceled);
  }

  Client late(front_port_);
  ASSERT_TRUE(late.send(get_request("/health")));
  auto head = late.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 502);
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(outcome->status);
  EXPECT_EQ(outcome->status.error().code, ErrorCode::kSandboxUnavailable);
  EXPECT_FALSE(outcome->started_before_answer);
}

TEST_F(ProxyTest, UnreachableUpstreamLeavesTheAnswerToTheCaller) {
  upstream_.unix_path = dir_ + "/nobody-listens.sock";
  start_front();
  Client client(front_port_);
  for (int i = 0; i < 2; ++i) {  // the connection stays usable after the caller's 502
    ASSERT_TRUE(client.send("POST /execute HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 5\r\n\r\nhello"));
    auto head = client.read_head();
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 502);
    auto body = client.read_body(*head);
    ASSERT_TRUE(body);
    auto answer = parse_object(*body);
    EXPECT_EQ(answer["code"], 502);
    EXPECT_EQ(answer["sandboxId"], "sbx");
    auto outcome = next_outcome();
    ASSERT_TRUE(outcome);
    ASSERT_FALSE(outcome->status);
    EXPECT_EQ(outcome->status.error().code, ErrorCode::kSandboxUnavailable);
    EXPECT_FALSE(outcome->started_before_answer);
  }
}

TEST_F(ProxyTest, UpstreamClosingBeforeAnsweringIsUnavailable) {
  start([](Request&, BodyReader&, ResponseWriter& writer) -> asio::awaitable<void> {
    writer.abort();
    co_return;
  });
  Client client(front_port_);
  ASSERT_TRUE(client.send(get_request("/health")));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 502);
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  ASSERT_FALSE(outcome->status);
  EXPECT_EQ(outcome->status.error().code, ErrorCode::kSandboxUnavailable);
}

TEST_F(ProxyTest, TcpUpstream) {
  start(echo, /*tcp=*/true);
  ASSERT_TRUE(upstream_.unix_path.empty());
  Client client(front_port_);
  ASSERT_TRUE(client.send(get_request("/contexts")));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  auto body = client.read_body(*head);
  ASSERT_TRUE(body);
  auto seen = parse_object(*body);
  EXPECT_EQ(seen["target"], "/contexts");
  EXPECT_EQ(seen["headers"].as_object()["e2b-sandbox-port"], "49999");
}

TEST_F(ProxyTest, WebSocketUpgradeRelaysBytesBothWays) {
  std::atomic<bool> upstream_saw_close{false};
  std::atomic<bool> upgrade_header_seen{false};
  start([&](Request& request, BodyReader&, ResponseWriter& writer) -> asio::awaitable<void> {
    upgrade_header_seen = request.header("Upgrade").value_or("") == "websocket";
    Response switching;
    switching.status = 101;
    switching.headers.add("Connection", "Upgrade");
    switching.headers.add("Upgrade", "websocket");
    switching.headers.add("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    auto raw = co_await writer.upgrade(std::move(switching));
    if (!raw) co_return;
    co_await (*raw)->write("WELCOME");
    char buffer[1024];
    for (;;) {
      auto n = co_await (*raw)->read_some(std::span<char>(buffer, sizeof buffer));
      if (!n || *n == 0) break;
      if (!co_await (*raw)->write(std::string_view(buffer, *n))) break;
    }
    upstream_saw_close = true;
  });
  Client client(front_port_);
  // The first frame rides in the same packet as the request head.
  ASSERT_TRUE(client.send(get_request("/ws",
                                      "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                      "Sec-WebSocket-Version: 13\r\n") +
                          "HELLO"));
  auto head = client.read_head();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 101);
  EXPECT_EQ(head->header("Upgrade"), "websocket");
  EXPECT_EQ(head->header("Sec-WebSocket-Accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(client.read_exact(12), "WELCOMEHELLO");
  ASSERT_TRUE(client.send("WORLD"));
  EXPECT_EQ(client.read_exact(5), "WORLD");
  EXPECT_TRUE(upgrade_header_seen.load());
  EXPECT_FALSE(upstream_saw_close.load());
  client.close();
  EXPECT_TRUE(eventually([&] { return upstream_saw_close.load(); }));
  auto outcome = next_outcome();
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->status);
}

}  // namespace
}  // namespace cellblock::http
