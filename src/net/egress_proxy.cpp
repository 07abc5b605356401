#include "net/egress_proxy.h"

#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "net/dns_client.h"
#include "net/splice_pump.h"
#include "net/traffic_peek.h"

namespace cellblock::net {

namespace {

using namespace asio::experimental::awaitable_operators;
using asio::ip::tcp;
constexpr auto kUse = asio::as_tuple(asio::use_awaitable);
constexpr auto kPeekTimeout = std::chrono::seconds(10);
constexpr auto kDialTimeout = std::chrono::seconds(10);
constexpr auto kResolveTimeout = std::chrono::milliseconds(2000);

// What a connection was allowed on: enough to decide again under new rules.
struct Grounds {
  std::string hostname;       // the Host or SNI name, when it matched an allowOut domain
  std::uint32_t address = 0;  // the original destination, when the address decided
  bool classified = true;     // false: not HTTP/TLS as the port says, or an encrypted ClientHello
};

struct Decision {
  bool allowed = false;
  bool by_domain = false;
  std::string rule;
};

Decision decide_connection(const EgressRules& rules, const Grounds& grounds) {
  if (!grounds.hostname.empty()) {
    for (const auto& pattern : rules.allow_domains()) {
      if (pattern.matches(grounds.hostname)) return {true, true, "allowOut \"" + pattern.to_string() + "\""};
    }
  }
  if (!grounds.classified && rules.has_domains()) {
    for (const auto& range : rules.allow_cidrs()) {
      if (range.contains(grounds.address)) return {true, false, "allowOut \"" + range.to_string() + "\""};
    }
    return {false, false, "unclassifiable traffic under a domain allowlist"};
  }
  Verdict verdict = decide(rules, "", grounds.address);
  return {verdict.allowed, false, verdict.rule};
}

// Where the sandbox meant to go, from the redirect's connection tracking.
std::optional<tcp::endpoint> original_destination(tcp::socket& socket) {
  sockaddr_in destination{};
  socklen_t length = sizeof(destination);
  if (::getsockopt(socket.native_handle(), SOL_IP, SO_ORIGINAL_DST, &destination, &length) != 0) {
    return std::nullopt;
  }
  return tcp::endpoint(asio::ip::address_v4(ntohl(destination.sin_addr.s_addr)), ntohs(destination.sin_port));
}

// Closes with a reset, so the sandbox's client fails at once instead of seeing a clean end.
void reset(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(asio::socket_base::linger(true, 0), ignored);
  socket.close(ignored);
}

// Reads until the first bytes say what the connection is (or the peek gives up).
asio::awaitable<std::pair<PeekResult, std::string>> peek(tcp::socket& client, std::uint16_t port) {
  std::string head;
  std::array<char, 4096> chunk{};
  asio::steady_timer limit(client.get_executor(), kPeekTimeout);
  HttpHostPeek http;  // each byte looked at once, however the client splits its writes
  TlsSniPeek tls;
  while (true) {
    auto outcome = co_await (client.async_read_some(asio::buffer(chunk), kUse) || limit.async_wait(kUse));
    if (outcome.index() == 1)
      co_return std::pair{PeekResult{PeekStatus::kNotThisProtocol, "", false, "no request in time"}, head};
    auto [ec, n] = std::get<0>(outcome);
    if (ec)
      co_return std::pair{PeekResult{PeekStatus::kNotThisProtocol, "", false, "closed before a request"},
                          head};
    head.append(chunk.data(), n);
    PeekResult result = port == 443 ? tls.peek(head) : http.peek(head);
    if (result.status != PeekStatus::kNeedMore) co_return std::pair{std::move(result), std::move(head)};
  }
}

asio::awaitable<boost::system::error_code> dial(tcp::socket& upstream, const tcp::endpoint& target) {
  asio::steady_timer limit(upstream.get_executor(), kDialTimeout);
  auto outcome = co_await (upstream.async_connect(target, kUse) || limit.async_wait(kUse));
  if (outcome.index() == 1) co_return asio::error::timed_out;
  co_return std::get<0>(std::get<0>(outcome));
}

}  // namespace

struct EgressProxy::Connection {
  Connection(tcp::socket client_socket, std::uint32_t sandbox_address)
      : client(std::move(client_socket)), upstream(client.get_executor()), sandbox(sandbox_address) {}

  // Ends both directions at once; the client is reset when the connection was cut by a rule.
  void cut() {
    was_cut = true;
    boost::system::error_code ignored;
    client.shutdown(tcp::socket::shutdown_both, ignored);
    upstream.shutdown(tcp::socket::shutdown_both, ignored);
    client.cancel(ignored);
    upstream.cancel(ignored);
  }

  tcp::socket client;
  tcp::socket upstream;
  std::uint32_t sandbox;
  std::string sandbox_id;
  Grounds grounds;
  bool decided = false;  // allowed and connected: `grounds` hold
  bool was_cut = false;
};

Result<std::unique_ptr<EgressProxy>> EgressProxy::open(asio::any_io_executor executor, Lookup lookup) {
  tcp::acceptor acceptor(executor);
  boost::system::error_code ec;
  acceptor.open(tcp::v4(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(tcp::endpoint(tcp::v4(), 0), ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ErrorCode::kInternal, "opening the egress proxy's port: " + ec.message());
  return std::unique_ptr<EgressProxy>(new EgressProxy(executor, std::move(acceptor), std::move(lookup)));
}

void EgressProxy::start() {
  asio::co_spawn(executor_, accept_loop(), asio::detached);
}

EgressProxy::EgressProxy(asio::any_io_executor executor, tcp::acceptor acceptor, Lookup lookup)
    : executor_(executor),
      acceptor_(std::move(acceptor)),
      port_(acceptor_.local_endpoint().port()),
      lookup_(std::move(lookup)),
      work_(executor) {}

EgressProxy::~EgressProxy() = default;

asio::awaitable<void> EgressProxy::accept_loop() {
  auto pass = work_.enter();
  while (pass && acceptor_.is_open()) {
    auto [ec, client] = co_await acceptor_.async_accept(kUse);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) break;
    if (ec) continue;  // e.g. the sandbox reset it already
    asio::co_spawn(executor_, serve(std::move(client)), asio::detached);
  }
}

asio::awaitable<void> EgressProxy::serve(tcp::socket client_socket) {
  auto pass = work_.enter();
  if (!pass) co_return;
  boost::system::error_code ec;
  const auto peer = client_socket.remote_endpoint(ec);
  const auto destination = original_destination(client_socket);
  if (ec || !peer.address().is_v4() || !destination) {
    reset(client_socket);
    co_return;
  }
  auto connection = std::make_shared<Connection>(std::move(client_socket), peer.address().to_v4().to_uint());
  if (!lookup_(connection->sandbox)) {  // not a sandbox, or one that is gone
    reset(connection->client);
    co_return;
  }
  // Registered from the start, so that stop() cuts it while it is still being read.
  auto registered = open_.emplace(connection->sandbox, connection);
  struct Unregister {
    std::multimap<std::uint32_t, std::shared_ptr<Connection>>& open;
    decltype(registered) entry;
    ~Unregister() { open.erase(entry); }
  } unregister{open_, registered};
  const std::uint32_t original = destination->address().to_v4().to_uint();
  const std::uint16_t port = destination->port();
  const std::string where = fmt::format("{}:{}", format_ipv4(original), port);

  auto [peeked, head] = co_await peek(connection->client, port);
  auto tenant = lookup_(connection->sandbox);  // the rules as they are now, after the wait
  if (!tenant || connection->was_cut) {
    reset(connection->client);
    co_return;
  }
  connection->sandbox_id = tenant->sandbox_id;
  connection->grounds.address = original;
  connection->grounds.classified =
      peeked.status != PeekStatus::kNotThisProtocol && !peeked.encrypted_client_hello;
  if (peeked.status == PeekStatus::kFound) connection->grounds.hostname = peeked.hostname;
  auto refuse = [&](std::string_view why) {
    spdlog::info("egress: sandbox {} to {}{}{} denied: {}", connection->sandbox_id, where,
                 connection->grounds.hostname.empty() ? "" : " as ", connection->grounds.hostname, why);
    reset(connection->client);
  };
  Decision decision = decide_connection(tenant->rules, connection->grounds);
  if (!decision.allowed) co_return refuse(decision.rule);

  // The address to dial: the name's own, resolved here, or the one the sandbox chose.
  std::uint32_t target = original;
  if (decision.by_domain) {
    // Named copies moved in: g++ 12 mishandles temporaries inside a co_await expression.
    auto resolvers = config_.resolvers;
    auto name = connection->grounds.hostname;
    auto addresses = co_await resolve_ipv4(executor_, std::move(resolvers), std::move(name), kResolveTimeout);
    if (!addresses) co_return refuse("resolving the name failed: " + addresses.error().message);
    auto usable = std::find_if(addresses->begin(), addresses->end(),
                               [this](std::uint32_t a) { return fixed_denial(config_, a).empty(); });
    if (usable == addresses->end()) {
      co_return refuse(
          fmt::format("{} resolves only to addresses no sandbox may reach", connection->grounds.hostname));
    }
    target = *usable;
  } else {
    connection->grounds.hostname.clear();  // the address decided: a later update re-decides by it alone
    if (auto denial = fixed_denial(config_, original); !denial.empty()) co_return refuse(denial);
  }
  const tcp::endpoint upstream_endpoint(asio::ip::address_v4(target), port);
  if (auto dialed = co_await dial(connection->upstream, upstream_endpoint); dialed) {
    spdlog::info("egress: sandbox {} to {}: connecting to {}: {}", connection->sandbox_id, where,
                 format_ipv4(target), dialed.message());
    reset(connection->client);
    co_return;
  }
  auto [write_ec, written] = co_await asio::async_write(connection->upstream, asio::buffer(head), kUse);
  if (write_ec) {
    reset(connection->client);
    co_return;
  }
  connection->decided = true;
  // Bytes go on as they come: a relay that waited to fill segments would add the peers' delayed ACKs.
  connection->client.set_option(tcp::no_delay(true), ec);
  connection->upstream.set_option(tcp::no_delay(true), ec);
  connection->client.non_blocking(true, ec);
  connection->upstream.non_blocking(true, ec);
  co_await (splice_pump(connection->client, connection->upstream) &&
            splice_pump(connection->upstream, connection->client));
  if (connection->was_cut) {
    reset(connection->client);
  } else {
    connection->client.close(ec);
  }
  connection->upstream.close(ec);
}

void EgressProxy::revalidate(std::uint32_t sandbox_address, const std::optional<EgressRules>& rules) {
  auto [first, last] = open_.equal_range(sandbox_address);
  for (auto it = first; it != last; ++it) {
    Connection& connection = *it->second;
    if (!connection.decided && rules) continue;  // it reads the rules when it decides
    if (rules && decide_connection(*rules, connection.grounds).allowed) continue;
    spdlog::info("egress: sandbox {}: cutting a connection to {} its rules no longer allow",
                 connection.sandbox_id,
                 connection.grounds.hostname.empty() ? format_ipv4(connection.grounds.address)
                                                     : connection.grounds.hostname);
    connection.cut();
  }
}

asio::awaitable<void> EgressProxy::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto& [address, connection] : open_) connection->cut();
  co_await work_.close();
}

}  // namespace cellblock::net
