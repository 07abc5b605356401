#pragma once
// Moves a TCP stream's bytes from one socket to another inside the kernel (splice through a pipe), waking
// only when a socket is ready: the egress proxy's data path, with no copy through user space.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>

namespace cellblock::net {

namespace asio = boost::asio;

// Copies `from` to `to` until `from` ends (its peer shut down or reset) or `to` refuses; then shuts `to`'s
// sending side down so its peer sees the end. Both sockets must be non-blocking. Returns the bytes moved.
asio::awaitable<std::uint64_t> splice_pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to);

}  // namespace cellblock::net
