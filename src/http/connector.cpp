#include "http/connector.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <string>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

namespace cellblock::http::detail {
namespace {

using namespace asio::experimental::awaitable_operators;
using Endpoints = std::vector<Protocol::endpoint>;
using Failed = tl::unexpected<ConnectFailure>;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

Failed failed(ConnectFailure::Step step, boost::system::error_code ec) {
  return Failed(ConnectFailure{step, ec});
}

asio::awaitable<tl::expected<Endpoints, ConnectFailure>> tcp_endpoints(
    const Upstream& to, std::chrono::steady_clock::time_point deadline, asio::steady_timer& wakeup) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(to.host, ec);
  Endpoints endpoints;
  if (!ec) {
    endpoints.emplace_back(asio::ip::tcp::endpoint(address, to.port));
    co_return endpoints;
  }
  asio::ip::tcp::resolver resolver(co_await asio::this_coro::executor);
  wakeup.expires_at(deadline);
  const std::string service = std::to_string(to.port);
  auto outcome = co_await (resolver.async_resolve(to.host, service, kNoThrow) || wakeup.async_wait(kNoThrow));
  if (outcome.index() == 1) {
    auto [timer_ec] = std::get<1>(outcome);
    boost::system::error_code why = boost::beast::error::timeout;
    if (timer_ec) why = asio::error::operation_aborted;
    co_return failed(ConnectFailure::Step::kResolve, why);
  }
  auto& [resolve_ec, results] = std::get<0>(outcome);
  if (resolve_ec) co_return failed(ConnectFailure::Step::kResolve, resolve_ec);
  for (const auto& entry : results) endpoints.emplace_back(entry.endpoint());
  co_return endpoints;
}

}  // namespace

asio::awaitable<tl::expected<void, ConnectFailure>> open_connection(
    Stream& stream, const Upstream& to, std::chrono::steady_clock::time_point deadline,
    asio::steady_timer& wakeup) {
  const bool tcp = to.unix_path.empty();
  Endpoints endpoints;
  if (!tcp) {
    if (to.unix_path.size() >= sizeof(sockaddr_un::sun_path)) {
      co_return failed(ConnectFailure::Step::kSocketPath, asio::error::name_too_long);
    }
    endpoints.emplace_back(asio::local::stream_protocol::endpoint(to.unix_path));
  } else {
    auto found = co_await tcp_endpoints(to, deadline, wakeup);
    if (!found) co_return tl::unexpected(found.error());
    endpoints = std::move(*found);
  }
  boost::system::error_code last = asio::error::host_not_found;
  for (const auto& endpoint : endpoints) {
    stream.expires_at(deadline);
    auto [ec] = co_await stream.async_connect(endpoint, kNoThrow);
    stream.expires_never();
    if (!ec) {
      if (tcp) {
        int one = 1;
        ::setsockopt(stream.socket().native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      }
      co_return tl::expected<void, ConnectFailure>();
    }
    last = ec;
    // The deadline covers every address; a closed stream means the caller gave up.
    if (ec == boost::beast::error::timeout || ec == asio::error::operation_aborted) break;
    boost::system::error_code ignored;
    stream.socket().close(ignored);
  }
  co_return failed(ConnectFailure::Step::kConnect, last);
}

}  // namespace cellblock::http::detail
