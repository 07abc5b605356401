#include "agent/sandbox_deadline.h"

namespace cellblock::agent {
namespace {

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SandboxDeadline::SandboxDeadline(boost::asio::any_io_executor executor, std::function<void()> expire)
    : timer_(std::move(executor)), expire_(std::move(expire)) {}

void SandboxDeadline::set(std::optional<std::int64_t> unix_ms) {
  deadline_ms_ = unix_ms;
  timer_.cancel();
  if (deadline_ms_) arm();
}

// The wall clock decides (the deadline is a wall-clock time the server computed), checked again at each
// wake-up: the steady timer only says when to look, so a step of the clock cannot end the sandbox early.
void SandboxDeadline::arm() {
  const std::int64_t left = *deadline_ms_ - unix_ms_now();
  timer_.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(left, 0)));
  timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || !deadline_ms_) return;
    if (unix_ms_now() < *deadline_ms_) {
      arm();
      return;
    }
    deadline_ms_.reset();
    expire_();
  });
}

}  // namespace cellblock::agent
