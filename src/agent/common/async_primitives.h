#pragma once
// Small coroutine synchronisation primitives on top of Asio channels (one io_context thread runs them).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cellblock::agent {

namespace asio = boost::asio;

// A FIFO mutex for coroutines: a channel with one slot; holding the lock = the slot is full.
class AsyncMutex {
 public:
  explicit AsyncMutex(asio::any_io_executor executor) : slot_(std::move(executor), 1) {}

  class Guard {
   public:
    explicit Guard(AsyncMutex* mutex) : mutex_(mutex) {}
    Guard(Guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    Guard(const Guard&) = delete;
    ~Guard() {
      if (mutex_) mutex_->slot_.try_receive([](boost::system::error_code) {});
    }

   private:
    AsyncMutex* mutex_;
  };

  asio::awaitable<Guard> lock() {
    co_await slot_.async_send(boost::system::error_code{}, asio::as_tuple(asio::use_awaitable));
    co_return Guard(this);
  }

 private:
  asio::experimental::channel<void(boost::system::error_code)> slot_;
};

// A one-shot event: wait() completes once set() has been called (immediately if it already was).
class AsyncEvent {
 public:
  explicit AsyncEvent(asio::any_io_executor executor) : timer_(std::move(executor)) {
    timer_.expires_at(asio::steady_timer::time_point::max());
  }
  void set() {
    set_ = true;
    timer_.cancel();
  }
  bool is_set() const { return set_; }
  asio::awaitable<void> wait() {
    while (!set_) co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }

 private:
  asio::steady_timer timer_;
  bool set_ = false;
};

}  // namespace cellblock::agent
