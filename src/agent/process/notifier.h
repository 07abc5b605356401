#pragma once
// A wake-up for coroutines on one executor: waiters re-check their condition after every wake, so a notify()
// with nobody waiting is harmless and nothing is lost. Any number of coroutines may wait at once.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace cellblock::agent {

class Notifier {
 public:
  explicit Notifier(const boost::asio::any_io_executor& executor);

  // Suspends until notify() (or until the awaiting coroutine is cancelled). Callers loop on their condition.
  boost::asio::awaitable<void> wait();
  void notify();

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace cellblock::agent
