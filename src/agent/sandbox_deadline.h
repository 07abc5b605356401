#pragma once
// The sandbox's own end: past the deadline the server last gave (POST /init), the agent, as PID 1, ends the
// sandbox, so a sandbox never outlives its timeout when the server that should kill it is gone. The server
// kills first while it runs (it adds a grace period to what it sends); a deadline of nullopt (a sandbox about
// to be frozen, or standalone use) lifts it.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace cellblock::agent {

class SandboxDeadline {
 public:
  // `expire` runs once, on the executor, when the deadline passes.
  SandboxDeadline(boost::asio::any_io_executor executor, std::function<void()> expire);

  // unix milliseconds; nullopt: no deadline.
  void set(std::optional<std::int64_t> unix_ms);

 private:
  void arm();

  boost::asio::steady_timer timer_;
  std::function<void()> expire_;
  std::optional<std::int64_t> deadline_ms_;
};

}  // namespace cellblock::agent
