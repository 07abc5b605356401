#pragma once
// Runs a blocking call (starting a kernel, waiting for a process to exit) on a thread pool and resumes the
// awaiting coroutine on its own executor with the result. The I/O thread never blocks.

#include <utility>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cellblock {

template <class F>
auto on_pool(boost::asio::thread_pool& pool, F f) -> boost::asio::awaitable<decltype(f())> {
  namespace asio = boost::asio;
  using R = decltype(f());
  auto executor = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(R)>(
      [&pool, executor](auto handler, F work) {
        asio::post(pool, [executor, work = std::move(work), handler = std::move(handler)]() mutable {
          R result = work();
          asio::post(executor, [handler = std::move(handler), result = std::move(result)]() mutable {
            std::move(handler)(std::move(result));
          });
        });
      },
      asio::use_awaitable, std::move(f));
}

}  // namespace cellblock
