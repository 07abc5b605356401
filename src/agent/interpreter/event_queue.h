#pragma once
// Hands the events of one execution from a kernel's I/O thread to the coroutine that streams them. The
// producer never blocks (ZeroMQ's PUB socket would drop messages if the kernel thread stalled); instead the
// queue bounds the bytes it holds: past the cap, output events are dropped and counted, while the final
// ExecuteDone always passes.

#include <deque>
#include <mutex>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>

#include "jupyter/execute_events.h"

namespace cellblock::interpreter {

namespace asio = boost::asio;

class EventQueue {
 public:
  EventQueue(asio::any_io_executor executor, std::size_t byte_cap);

  // Producer side (any thread).
  void push(jupyter::ExecuteEvent&& event);
  // Consumer side: waits until at least one event is queued, then takes them all.
  asio::awaitable<std::deque<jupyter::ExecuteEvent>> pop_all();
  // Output events dropped because the consumer fell behind by more than the cap (consumer side).
  std::size_t dropped() const;

 private:
  static std::size_t size_of(const jupyter::ExecuteEvent& event);

  const std::size_t byte_cap_;
  mutable std::mutex mutex_;
  std::deque<jupyter::ExecuteEvent> events_;
  std::size_t queued_bytes_ = 0;
  std::size_t dropped_ = 0;
  asio::experimental::concurrent_channel<void(boost::system::error_code)> wakeup_;
};

}  // namespace cellblock::interpreter
