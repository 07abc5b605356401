#pragma once
// How many sandboxes the server holds at once (--max-sandboxes). A sandbox counts from the moment a boot is
// decided until its processes are gone: booting, pooled (warm, unclaimed), running, and paused with memory
// (its frozen processes keep their RAM). A create reserves its slot before its first suspension point, so
// concurrent creates can never overshoot the limit; the slot travels with the sandbox and is released when
// the sandbox's record of it is dropped.
//
// Single-threaded: use it on the server's executor only.

#include <cstddef>
#include <optional>
#include <utility>

namespace cellblock::sandbox {

class Capacity {
 public:
  explicit Capacity(std::size_t limit) : limit_(limit) {}
  Capacity(const Capacity&) = delete;
  Capacity& operator=(const Capacity&) = delete;

  class Slot {
   public:
    explicit Slot(Capacity* owner) : owner_(owner) {}
    Slot(Slot&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Slot& operator=(Slot&& other) noexcept {
      if (this != &other) {
        release();
        owner_ = std::exchange(other.owner_, nullptr);
      }
      return *this;
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }

   private:
    void release() {
      if (owner_) --owner_->used_;
      owner_ = nullptr;
    }
    Capacity* owner_;
  };

  // Empty when the limit is reached.
  std::optional<Slot> reserve() {
    if (used_ >= limit_) return std::nullopt;
    ++used_;
    return std::optional<Slot>(std::in_place, this);
  }
  std::size_t used() const { return used_; }
  std::size_t limit() const { return limit_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

}  // namespace cellblock::sandbox
