#pragma once
// Saved writable layers: what a filesystem-only pause keeps of a sandbox and what a snapshot holds. Each is a
// directory <state>/layers/<id>, written once by Runtime::save_layer and then only read (as a lower layer of
// every sandbox started on it), recorded with its size in the store. Their total is bounded: a save that
// could take it past the budget is refused with ENOSPC's error, before anything is written. A layer is
// removed once no alive sandbox and no snapshot lists it (collect()).

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/error.h"
#include "runtime/runtime.h"
#include "store/layer_store.h"

namespace cellblock::sandbox {

namespace asio = boost::asio;

struct SavedLayer {
  std::string id;
  std::uint64_t size_bytes = 0;
};

// Running out of room for saved files (the budget, the stack depth) is the caller's to act on, not a fault.
inline bool caller_can_act(const Error& error) {
  return error.code == ErrorCode::kNotEnoughSpace || error.code == ErrorCode::kResourceExhausted;
}

class SavedLayers {
 public:
  SavedLayers(asio::thread_pool& blocking, runtime::Runtime& runtime, store::LayerStore& store,
              std::string dir, std::uint64_t budget_bytes);

  // Host directories of layer ids, in the same order.
  std::vector<std::string> paths(const std::vector<std::string>& ids) const;
  // The deepest stack a sandbox can start on (overlayfs takes its lower layers in one page of mount options).
  static constexpr std::size_t kMaxStack = 48;

  // Saves the writable layer of a sandbox the caller has frozen, which runs on `depth` saved layers;
  // `expected_bytes` (its disk use) is checked against the budget first.
  asio::awaitable<Result<SavedLayer>> save(const runtime::SandboxHandle& handle, std::size_t depth,
                                           std::uint64_t expected_bytes);
  // Keeps layers from collect() while a sandbox is being started on them (before any record lists them).
  class Pin {
   public:
    Pin(SavedLayers* owner, std::vector<std::string> ids) : owner_(owner), ids_(std::move(ids)) {}
    Pin(Pin&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), ids_(std::move(other.ids_)) {}
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;
    Pin& operator=(Pin&&) = delete;
    ~Pin();

   private:
    SavedLayers* owner_;
    std::vector<std::string> ids_;
  };
  Pin pin(const std::vector<std::string>& ids);
  // Removes the layers nothing uses any more.
  asio::awaitable<void> collect();
  // At start, before any save: collect(), and remove directories the store does not know (saves that were
  // interrupted).
  asio::awaitable<void> recover();

  std::uint64_t budget_bytes() const { return budget_bytes_; }

 private:
  std::string path(std::string_view id) const;

  asio::thread_pool& blocking_;
  runtime::Runtime& runtime_;
  store::LayerStore& store_;
  std::string dir_;
  std::uint64_t budget_bytes_;
  std::multiset<std::string> pinned_;
};

}  // namespace cellblock::sandbox
