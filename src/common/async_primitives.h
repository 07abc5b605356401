#pragma once
// Small coroutine synchronisation primitives on top of Asio channels (one io_context thread runs them).

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cellblock {

namespace asio = boost::asio;

// A FIFO counting semaphore for coroutines: a channel with `permits` slots; holding a permit = one slot full.
// Waiters are served in arrival order (the channel queues blocked senders).
class AsyncSemaphore {
 public:
  AsyncSemaphore(asio::any_io_executor executor, std::size_t permits)
      : slots_(std::move(executor), permits) {}

  class Permit {
   public:
    explicit Permit(AsyncSemaphore* owner) : owner_(owner) {}
    Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;
    ~Permit() {
      if (owner_) owner_->slots_.try_receive([](boost::system::error_code) {});
    }

   private:
    AsyncSemaphore* owner_;
  };

  asio::awaitable<Permit> acquire() {
    co_await slots_.async_send(boost::system::error_code{}, asio::as_tuple(asio::use_awaitable));
    co_return Permit(this);
  }

 private:
  asio::experimental::channel<void(boost::system::error_code)> slots_;
};

// A FIFO mutex for coroutines.
class AsyncMutex {
 public:
  explicit AsyncMutex(asio::any_io_executor executor) : permits_(std::move(executor), 1) {}
  using Guard = AsyncSemaphore::Permit;
  asio::awaitable<Guard> lock() { return permits_.acquire(); }

 private:
  AsyncSemaphore permits_;
};

// One FIFO mutex per key (a user, a conversation): work on one key runs one at a time, keys do not wait for
// each other, and a key's mutex exists only while someone holds or waits for it. Use it from one executor.
class KeyedMutex {
  struct Entry {
    explicit Entry(asio::any_io_executor executor) : mutex(std::move(executor)) {}
    AsyncMutex mutex;
    std::size_t users = 0;
  };

 public:
  class Guard {
   public:
    Guard(KeyedMutex* owner, std::string key, std::shared_ptr<Entry> entry, AsyncMutex::Guard held)
        : owner_(owner), key_(std::move(key)), entry_(std::move(entry)), held_(std::move(held)) {}
    Guard(Guard&&) noexcept = default;
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    ~Guard() {
      if (!entry_) return;
      held_.reset();
      if (--entry_->users == 0) owner_->entries_.erase(key_);
    }

   private:
    KeyedMutex* owner_;
    std::string key_;
    std::shared_ptr<Entry> entry_;
    std::optional<AsyncMutex::Guard> held_;
  };

  asio::awaitable<Guard> lock(std::string key) {
    auto& slot = entries_[key];
    if (!slot) slot = std::make_shared<Entry>(co_await asio::this_coro::executor);
    auto entry = slot;
    ++entry->users;
    auto held = co_await entry->mutex.lock();
    co_return Guard(this, std::move(key), std::move(entry), std::move(held));
  }

 private:
  std::map<std::string, std::shared_ptr<Entry>> entries_;
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

// Sleeps on the caller's executor; an expected outcome, never an exception.
inline asio::awaitable<void> sleep_for(std::chrono::steady_clock::duration duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Work in flight of a long-lived owner (seastar's gate): each piece holds a Pass while it runs; close()
// refuses new passes and completes once the last one is dropped, so the owner can stop without leaving work
// behind.
class Gate {
 public:
  explicit Gate(asio::any_io_executor executor) : drained_(std::move(executor)) {}

  class Pass {
   public:
    explicit Pass(Gate* gate) : gate_(gate) {}
    Pass(Pass&& other) noexcept : gate_(std::exchange(other.gate_, nullptr)) {}
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    ~Pass() {
      if (gate_ && --gate_->inside_ == 0 && gate_->closed_) gate_->drained_.set();
    }

   private:
    Gate* gate_;
  };

  // Empty once the gate is closed.
  std::optional<Pass> enter() {
    if (closed_) return std::nullopt;
    ++inside_;
    return std::optional<Pass>(std::in_place, this);
  }
  asio::awaitable<void> close() {
    closed_ = true;
    if (inside_ == 0) drained_.set();
    co_await drained_.wait();
  }

 private:
  AsyncEvent drained_;
  std::size_t inside_ = 0;
  bool closed_ = false;
};

}  // namespace cellblock
