#include "sandbox/warm_pool.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace cellblock::sandbox {

WarmPool::WarmPool(asio::any_io_executor executor, const TemplateEntry& entry, Booter& booter,
                   Capacity& capacity, AsyncSemaphore& admission, std::size_t target)
    : executor_(executor),
      entry_(entry),
      booter_(booter),
      capacity_(capacity),
      admission_(admission),
      target_(target),
      backoff_timer_(executor),
      quiet_timer_(executor),
      work_(executor) {}

std::optional<WarmSandbox> WarmPool::take() {
  if (ready_.empty()) return std::nullopt;
  WarmSandbox warm = std::move(ready_.front());
  ready_.pop_front();
  hold_refill();
  return warm;
}

// A claim from the pool delays its refill until claims have been quiet for a moment: in a burst, booting
// kernels would otherwise take the CPU from the claims still being served. Waiting creates are never delayed.
void WarmPool::hold_refill() {
  quiet_until_ = std::chrono::steady_clock::now() + kRefillQuiet;
  if (refill_timer_armed_) return;
  refill_timer_armed_ = true;
  quiet_timer_.expires_at(quiet_until_);
  quiet_timer_.async_wait([this](boost::system::error_code ec) { on_quiet(ec); });
}

void WarmPool::on_quiet(boost::system::error_code ec) {
  if (ec) {
    refill_timer_armed_ = false;
    return;
  }
  if (std::chrono::steady_clock::now() < quiet_until_) {  // claimed again meanwhile
    quiet_timer_.expires_at(quiet_until_);
    quiet_timer_.async_wait([this](boost::system::error_code next) { on_quiet(next); });
    return;
  }
  refill_timer_armed_ = false;
  refill();
}

asio::awaitable<Result<WarmSandbox>> WarmPool::wait(Capacity::Slot slot) {
  if (stopping_) co_return fail(ErrorCode::kUnavailable, "the server is stopping");
  auto waiter = std::make_shared<Waiter>(executor_, std::move(slot));
  waiters_.push_back(waiter);
  release_spare_slots();  // a pool boot under way now serves this create: the create's slot replaces its own
  refill();
  co_await waiter->done.wait();
  co_return std::move(*waiter->result);
}

// Boots beyond the waiting creates are for the pool and hold room of their own: exactly
// max(0, booting - waiting) slots, kept here until their sandbox is ready.
std::size_t WarmPool::pool_boots() const {
  return in_flight_ > waiters_.size() ? in_flight_ - waiters_.size() : 0;
}

void WarmPool::release_spare_slots() {
  while (boot_slots_.size() > pool_boots()) boot_slots_.pop_back();
}

void WarmPool::refill() {
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    const bool held = now < backoff_until_ || now < quiet_until_;
    const std::size_t wanted = waiters_.size() + (held ? 0 : target_);
    if (ready_.size() + in_flight_ >= wanted) return;
    if (in_flight_ + 1 > waiters_.size()) {
      auto slot = capacity_.reserve();
      if (!slot) return;
      boot_slots_.push_back(std::move(*slot));
    }
    ++in_flight_;
    asio::co_spawn(executor_, boot_one(), asio::detached);
  }
}

asio::awaitable<void> WarmPool::boot_one() {
  auto pass = work_.enter();
  Result<runtime::SandboxHandle> booted = fail(ErrorCode::kUnavailable, "the server is stopping");
  if (pass) {
    auto permit = co_await admission_.acquire();
    if (!stopping_) booted = co_await booter_.boot(entry_);
  }
  --in_flight_;
  if (auto unwanted = deliver(std::move(booted))) co_await booter_.destroy(std::move(*unwanted));
  refill();
}

std::optional<runtime::SandboxHandle> WarmPool::deliver(Result<runtime::SandboxHandle> booted) {
  std::shared_ptr<Waiter> waiter;
  if (!waiters_.empty()) {
    waiter = waiters_.front();
    waiters_.pop_front();
  }
  std::optional<runtime::SandboxHandle> unwanted;
  if (booted) failures_ = 0;
  if (!booted) {
    if (!stopping_ && booted.error().code != ErrorCode::kUnavailable) {
      spdlog::error("booting a {} sandbox: {}", entry_.info.name, booted.error().message);
      back_off();
    }
    if (waiter) waiter->result = tl::unexpected(booted.error());
  } else if (stopping_) {
    unwanted = *booted;
    if (waiter) waiter->result = fail(ErrorCode::kUnavailable, "the server is stopping");
  } else if (waiter) {
    waiter->result = WarmSandbox{*booted, std::move(waiter->slot)};
  } else {
    // A pool boot: its slot is one of those kept for the boots beyond the waiting creates.
    std::optional<Capacity::Slot> slot;
    if (!boot_slots_.empty()) {
      slot = std::move(boot_slots_.back());
      boot_slots_.pop_back();
    } else {
      slot = capacity_.reserve();
    }
    if (slot) {
      ready_.push_back(WarmSandbox{*booted, std::move(slot)});
    } else {
      unwanted = *booted;
    }
  }
  if (waiter) waiter->done.set();
  release_spare_slots();
  return unwanted;
}

// After a failed boot the pool refills again only after 1, 2, 4 … 64 s (waiting creates still get boots):
// the pool must refill once the cause is gone, without hammering a broken template.
void WarmPool::back_off() {
  const auto delay = std::chrono::seconds(std::min(60, 1 << std::min(failures_++, 6)));
  backoff_until_ = std::chrono::steady_clock::now() + delay;
  backoff_timer_.expires_after(delay);
  backoff_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) refill();
  });
}

void WarmPool::discard(runtime::SandboxHandle handle) {
  asio::co_spawn(executor_, destroy_held(std::move(handle), work_.enter()), asio::detached);
}

// The pass lives in this coroutine's frame: stop() waits for the destroy.
asio::awaitable<void> WarmPool::destroy_held(runtime::SandboxHandle handle, std::optional<Gate::Pass> pass) {
  co_await booter_.destroy(std::move(handle));
  pass.reset();
}

bool WarmPool::evict_one() {
  if (ready_.empty()) return false;
  WarmSandbox evicted = std::move(ready_.back());
  ready_.pop_back();
  discard(std::move(evicted.handle));
  return true;  // `evicted.slot` is released here
}

asio::awaitable<void> WarmPool::stop() {
  stopping_ = true;
  backoff_timer_.cancel();
  quiet_timer_.cancel();
  for (auto& waiter : waiters_) {
    waiter->result = fail(ErrorCode::kUnavailable, "the server is stopping");
    waiter->done.set();
  }
  waiters_.clear();
  while (auto warm = take()) discard(std::move(warm->handle));
  co_await work_.close();
}

}  // namespace cellblock::sandbox
