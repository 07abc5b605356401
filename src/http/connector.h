#pragma once
// Opening an outbound connection, for http::fetch and the reverse proxy alike: a Unix socket, or the
// addresses of a host (an IP literal needs no lookup) tried in turn until one accepts, all before one
// deadline. Callers phrase the failure in their own terms. Internal to src/http.

#include <chrono>

#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <tl/expected.hpp>

#include "http/proxy.h"

namespace cellblock::http::detail {

using Protocol = asio::generic::stream_protocol;
// Beast's basic_stream gives every operation on it (and on a TLS layer above it) a deadline.
using Stream =
    boost::beast::basic_stream<Protocol, asio::any_io_executor, boost::beast::unlimited_rate_policy>;

struct ConnectFailure {
  enum class Step { kSocketPath, kResolve, kConnect };
  Step step;
  // boost::beast::error::timeout when the deadline passed; asio::error::operation_aborted when given up.
  boost::system::error_code ec;
};

// Connects `stream` to `to` (TCP_NODELAY on TCP). `wakeup` bounds the name lookup: it is set to the deadline,
// and cancelling it gives up; closing `stream` gives up a connect in flight.
asio::awaitable<tl::expected<void, ConnectFailure>> open_connection(
    Stream& stream, const Upstream& to, std::chrono::steady_clock::time_point deadline,
    asio::steady_timer& wakeup);

}  // namespace cellblock::http::detail
