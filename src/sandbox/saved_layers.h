#pragma once
// Saved writable layers: what a filesystem-only pause keeps of a sandbox and what a snapshot holds. Each is a
// directory <state>/layers/<id>, written once by Runtime::save_layer and then only read (as a lower layer of
// every sandbox started on it), recorded with its size in the store. Their total is bounded: a save that
// could take it past the budget is refused with ENOSPC's error, before anything is written. A save that makes
// a stack deeper than the merge depth merges the stack into one layer (Runtime::merge_layers), so pausing and
// snapshotting again and again never reaches the deepest stack a sandbox can start on. A layer is removed
// once no alive sandbox and no snapshot lists it (collect()): the layers a merge replaced stay while a
// snapshot or a running sandbox still uses them.

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

// What a save leaves: the stack the sandbox's files are now kept in (layer ids, uppermost first), and the
// bytes of the layers the save wrote into it.
struct SavedStack {
  std::vector<std::string> layers;
  std::uint64_t added_bytes = 0;
};

// Running out of room for saved files (the budget, the stack depth) is the caller's to act on, not a fault.
inline bool caller_can_act(const Error& error) {
  return error.code == ErrorCode::kNotEnoughSpace || error.code == ErrorCode::kResourceExhausted;
}

class SavedLayers {
 public:
  // `merge_depth` is clamped to 1..kMaxStack.
  SavedLayers(asio::thread_pool& blocking, runtime::Runtime& runtime, store::LayerStore& store,
              std::string dir, std::uint64_t budget_bytes, std::size_t merge_depth = kMergeDepth);

  // Host directories of layer ids, in the same order.
  std::vector<std::string> paths(const std::vector<std::string>& ids) const;
  // The deepest stack a sandbox can start on (overlayfs takes its lower layers in one page of mount options).
  static constexpr std::size_t kMaxStack = 48;
  // The deepest stack a save leaves without merging: deep enough that merges (a copy of every file kept) are
  // rare, shallow enough that a failed merge leaves room to try again at the next save.
  static constexpr std::size_t kMergeDepth = 16;

  // Saves the writable layer of a sandbox the caller has frozen, which runs on the saved layers `below`
  // (uppermost first), as the new top of that stack, merged into one layer when the stack would be deeper
  // than the merge depth. Its disk use is checked against the budget first. A merge that
  // fails keeps the unmerged stack if a sandbox can still start on it, and fails the save otherwise.
  asio::awaitable<Result<SavedStack>> save(const runtime::SandboxHandle& handle,
                                           const std::vector<std::string>& below);
  // The same in two steps, so that the merge can run after the sandbox is thawed: save_top() writes the new
  // top layer only, compact() then merges the stack when it is deeper than the merge depth.
  asio::awaitable<Result<SavedStack>> save_top(const runtime::SandboxHandle& handle,
                                               const std::vector<std::string>& below);
  asio::awaitable<Result<SavedStack>> compact(SavedStack stack);
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
  std::size_t merge_depth() const { return merge_depth_; }

 private:
  std::string path(std::string_view id) const;
  // Writes the merge of `stack` as a new recorded layer.
  asio::awaitable<Result<SavedLayer>> merge(const std::vector<std::string>& stack);
  // Removes a layer this server wrote and recorded but nothing lists yet.
  asio::awaitable<void> discard(const std::string& id);

  asio::thread_pool& blocking_;
  runtime::Runtime& runtime_;
  store::LayerStore& store_;
  std::string dir_;
  std::uint64_t budget_bytes_;
  std::size_t merge_depth_;
  std::multiset<std::string> pinned_;
};

}  // namespace cellblock::sandbox
