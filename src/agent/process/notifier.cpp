#include "agent/process/notifier.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cellblock::agent {

namespace asio = boost::asio;

// The timer never expires: notify() cancels the pending waits. Its expiry is never touched again, because
// expires_at() would also cancel the other waiters and make them wake each other in turn.
Notifier::Notifier(const asio::any_io_executor& executor) : timer_(executor) {
  timer_.expires_at(asio::steady_timer::time_point::max());
}

asio::awaitable<void> Notifier::wait() {
  co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

void Notifier::notify() {
  timer_.cancel();
}

}  // namespace cellblock::agent
