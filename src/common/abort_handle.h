#pragma once
// Lets the owner of long-lived work cut every exchange that registered with it at once: a killed or paused
// sandbox cuts its proxied streams, a stopped chat turn cuts its provider request and its cell. Once aborted,
// every later registration runs its cut at once. Use only on the executor of the owner (post to it from
// elsewhere).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>

namespace cellblock {

class AbortHandle : public std::enable_shared_from_this<AbortHandle> {
 public:
  // Unregisters its callback when destroyed.
  class Registration {
   public:
    Registration() = default;
    Registration(std::shared_ptr<AbortHandle> owner, std::uint64_t id) : owner_(std::move(owner)), id_(id) {}
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

   private:
    std::shared_ptr<AbortHandle> owner_;
    std::uint64_t id_ = 0;
  };

  void abort();
  bool aborted() const { return aborted_; }
  // Runs `cut` on abort() (at once if already aborted) until the registration is dropped. The handle must be
  // owned by a shared_ptr.
  [[nodiscard]] Registration on_abort(std::function<void()> cut);

 private:
  bool aborted_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::function<void()>> cuts_;
};

}  // namespace cellblock
