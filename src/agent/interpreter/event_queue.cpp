#include "agent/interpreter/event_queue.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

namespace cellblock::interpreter {

EventQueue::EventQueue(asio::any_io_executor executor, std::size_t byte_cap)
    : byte_cap_(byte_cap), wakeup_(std::move(executor), 1) {}

std::size_t EventQueue::size_of(const jupyter::ExecuteEvent& event) {
  if (const auto* stream = std::get_if<jupyter::StreamOutput>(&event)) return stream->text.size();
  if (const auto* display = std::get_if<jupyter::DisplayOutput>(&event)) {
    std::size_t size = 0;
    for (const auto& [mime, value] : display->data) {
      size += mime.size() +
              (value.is_string() ? value.get_string().size() : boost::json::serialize(value).size());
    }
    return size;
  }
  return 64;
}

void EventQueue::push(jupyter::ExecuteEvent&& event) {
  const bool droppable = std::holds_alternative<jupyter::StreamOutput>(event) ||
                         std::holds_alternative<jupyter::DisplayOutput>(event);
  const std::size_t size = size_of(event);
  {
    std::lock_guard lock(mutex_);
    if (droppable && queued_bytes_ + size > byte_cap_) {
      ++dropped_;
      return;
    }
    queued_bytes_ += size;
    events_.push_back(std::move(event));
  }
  // One pending wakeup is enough: the consumer drains everything when it wakes.
  wakeup_.try_send(boost::system::error_code{});
}

asio::awaitable<std::deque<jupyter::ExecuteEvent>> EventQueue::pop_all() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (!events_.empty()) {
        queued_bytes_ = 0;
        co_return std::exchange(events_, {});
      }
    }
    co_await wakeup_.async_receive(asio::as_tuple(asio::use_awaitable));
  }
}

std::size_t EventQueue::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace cellblock::interpreter
