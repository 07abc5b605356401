#include "net/splice_pump.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/unique_fd.h"

namespace cellblock::net {

namespace {

constexpr std::size_t kChunk = 1 << 16;  // a default pipe's capacity
constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;

// Waits until `socket` is ready; false when the wait failed (the socket was closed or cut).
asio::awaitable<bool> ready(asio::ip::tcp::socket& socket, asio::socket_base::wait_type what) {
  auto [ec] = co_await socket.async_wait(what, asio::as_tuple(asio::use_awaitable));
  co_return !ec;
}

}  // namespace

asio::awaitable<std::uint64_t> splice_pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to) {
  std::uint64_t moved = 0;
  int ends[2];
  if (::pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0) co_return moved;
  UniqueFd pipe_out(ends[0]);
  UniqueFd pipe_in(ends[1]);
  bool open = true;
  while (open) {
    ssize_t got = ::splice(from.native_handle(), nullptr, pipe_in.get(), nullptr, kChunk, kFlags);
    if (got < 0 && errno == EAGAIN) {
      open = co_await ready(from, asio::socket_base::wait_read);
      continue;
    }
    if (got <= 0) break;  // end of stream, or an error such as a reset
    while (got > 0) {
      ssize_t put = ::splice(pipe_out.get(), nullptr, to.native_handle(), nullptr,
                             static_cast<std::size_t>(got), kFlags);
      if (put < 0 && errno == EAGAIN) {
        if (!co_await ready(to, asio::socket_base::wait_write)) break;
        continue;
      }
      if (put <= 0) break;
      got -= put;
      moved += static_cast<std::uint64_t>(put);
    }
    if (got > 0) break;  // `to` refused the rest
  }
  if (to.is_open()) ::shutdown(to.native_handle(), SHUT_WR);
  co_return moved;
}

}  // namespace cellblock::net
