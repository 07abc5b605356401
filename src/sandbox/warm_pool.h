#pragma once
// The warm pool of one template: booted, unclaimed sandboxes ready to hand out, and the creates waiting for
// one. A create takes a ready sandbox at once; when none is ready it waits in line, and each boot that ends
// goes to the first in line, so in a burst the first create returns after about one boot time and the later
// ones in turn. Boots are admitted through one server-wide semaphore (bounded concurrency, arrival order)
// and never exceed the capacity: a boot for a waiting create uses that create's slot, a boot that refills the
// pool reserves its own (and gives it back when a create arrives to take the sandbox it will yield).

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "common/async_primitives.h"
#include "common/error.h"
#include "sandbox/boot.h"
#include "sandbox/capacity.h"

namespace cellblock::sandbox {

// A booted, unclaimed sandbox and the capacity it holds.
struct WarmSandbox {
  runtime::SandboxHandle handle;
  std::optional<Capacity::Slot> slot;
};

class WarmPool {
 public:
  // `target`: ready sandboxes kept (0: boot only on demand).
  WarmPool(asio::any_io_executor executor, const TemplateEntry& entry, Booter& booter, Capacity& capacity,
           AsyncSemaphore& admission, std::size_t target);

  const TemplateEntry& entry() const { return entry_; }
  // A ready sandbox, if there is one (it keeps its slot).
  std::optional<WarmSandbox> take();
  // Waits in line for the next sandbox booted for this template; `slot` is the caller's reservation and comes
  // back with the sandbox. Fails with the boot's error, or kUnavailable when the pool stops.
  asio::awaitable<Result<WarmSandbox>> wait(Capacity::Slot slot);
  // Starts the boots that are missing: one per waiting create, then up to the target (within the capacity,
  // after a failure only once its back-off has passed).
  void refill();
  // Destroys one ready sandbox so that its slot can serve another template. False when none is ready.
  bool evict_one();
  // Fails the waiting creates, ends the boots in flight (with Booter::stop) and destroys the ready ones.
  asio::awaitable<void> stop();

  std::size_t ready_count() const { return ready_.size(); }

 private:
  struct Waiter {
    Waiter(asio::any_io_executor executor, Capacity::Slot reserved)
        : slot(std::move(reserved)), done(executor) {}
    std::optional<Capacity::Slot> slot;
    std::optional<Result<WarmSandbox>> result;
    AsyncEvent done;
  };

  asio::awaitable<void> boot_one();
  // Hands a finished boot to the first waiting create (a failure too), or to the pool; returns a sandbox
  // nobody can take.
  std::optional<runtime::SandboxHandle> deliver(Result<runtime::SandboxHandle> booted);
  std::size_t pool_boots() const;
  void release_spare_slots();
  void back_off();
  void hold_refill();
  void on_quiet(boost::system::error_code ec);
  void discard(runtime::SandboxHandle handle);
  asio::awaitable<void> destroy_held(runtime::SandboxHandle handle, std::optional<Gate::Pass> pass);

  asio::any_io_executor executor_;
  const TemplateEntry& entry_;
  Booter& booter_;
  Capacity& capacity_;
  AsyncSemaphore& admission_;
  std::size_t target_;
  std::deque<WarmSandbox> ready_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
  std::size_t in_flight_ = 0;
  std::deque<Capacity::Slot> boot_slots_;  // the room of the boots beyond the waiting creates
  int failures_ = 0;
  std::chrono::steady_clock::time_point backoff_until_{};
  asio::steady_timer backoff_timer_;
  static constexpr std::chrono::milliseconds kRefillQuiet{250};
  std::chrono::steady_clock::time_point quiet_until_{};
  asio::steady_timer quiet_timer_;
  bool refill_timer_armed_ = false;
  Gate work_;
  bool stopping_ = false;
};

}  // namespace cellblock::sandbox
