#include "sandbox/saved_layers.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/blocking_call.h"
#include "common/encoding.h"

namespace cellblock::sandbox {
namespace {

namespace fs = std::filesystem;

std::string gib(std::uint64_t bytes) {
  return fmt::format("{:.1f} GiB", static_cast<double>(bytes) / (1ULL << 30));
}

Status remove_tree(const std::string& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return tl::unexpected(system_error("removing " + dir, ec.value()));
  return {};
}

}  // namespace

SavedLayers::SavedLayers(asio::thread_pool& blocking, runtime::Runtime& runtime, store::LayerStore& store,
                         std::string dir, std::uint64_t budget_bytes, std::size_t merge_depth)
    : blocking_(blocking),
      runtime_(runtime),
      store_(store),
      dir_(std::move(dir)),
      budget_bytes_(budget_bytes),
      merge_depth_(std::clamp<std::size_t>(merge_depth, 1, kMaxStack)) {}

std::string SavedLayers::path(std::string_view id) const {
  return dir_ + "/" + std::string(id);
}

std::vector<std::string> SavedLayers::paths(const std::vector<std::string>& ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const auto& id : ids) out.push_back(path(id));
  return out;
}

SavedLayers::Pin::~Pin() {
  if (!owner_) return;
  for (const auto& id : ids_) owner_->pinned_.erase(owner_->pinned_.find(id));
}

SavedLayers::Pin SavedLayers::pin(const std::vector<std::string>& ids) {
  for (const auto& id : ids) pinned_.insert(id);
  return Pin(this, ids);
}

asio::awaitable<Result<SavedStack>> SavedLayers::save(const runtime::SandboxHandle& handle,
                                                      const std::vector<std::string>& below) {
  auto top = co_await save_top(handle, below);
  if (!top) co_return top;
  co_return co_await compact(std::move(*top));
}

asio::awaitable<Result<SavedStack>> SavedLayers::save_top(const runtime::SandboxHandle& handle,
                                                          const std::vector<std::string>& below) {
  // What the sandbox's writable layer holds now is what the copy will take.
  std::uint64_t expected_bytes = 0;
  if (auto usage = runtime_.usage(handle)) expected_bytes = usage->disk_bytes;
  auto used = store_.total_bytes();
  if (!used) co_return tl::unexpected(used.error());
  const auto in_use = static_cast<std::uint64_t>(*used);
  if (in_use >= budget_bytes_ || in_use + expected_bytes > budget_bytes_) {
    co_return fail(
        ErrorCode::kNotEnoughSpace,
        fmt::format("the storage for saved files is full: {} of {} in use and this sandbox holds {}; "
                    "delete snapshots or kill paused sandboxes, or start the server with a larger "
                    "--layer-storage",
                    gib(in_use), gib(budget_bytes_), gib(expected_bytes)));
  }
  SavedLayer layer{random_id(20), 0};
  auto copy = [this, handle, dest = path(layer.id)]() {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    return runtime_.save_layer(handle, dest);
  };
  auto size = co_await on_pool(blocking_, std::move(copy));
  if (!size) co_return tl::unexpected(size.error());
  layer.size_bytes = *size;
  if (Status recorded = store_.add(layer.id, static_cast<std::int64_t>(layer.size_bytes)); !recorded) {
    auto undo = [dir = path(layer.id)]() { return remove_tree(dir); };
    (void)co_await on_pool(blocking_, std::move(undo));
    co_return tl::unexpected(recorded.error());
  }
  SavedStack stack{{layer.id}, layer.size_bytes};
  stack.layers.insert(stack.layers.end(), below.begin(), below.end());
  co_return stack;
}

asio::awaitable<Result<SavedStack>> SavedLayers::compact(SavedStack stack) {
  if (stack.layers.size() <= merge_depth_) co_return stack;
  auto merged = co_await merge(stack.layers);
  if (merged) co_return SavedStack{{merged->id}, merged->size_bytes};
  if (stack.layers.size() <= kMaxStack) {
    spdlog::warn("merging a stack of {} saved layers failed; keeping the stack: {}", stack.layers.size(),
                 merged.error().message);
    co_return stack;
  }
  co_await discard(stack.layers.front());  // the new top: nothing can start on the stack it tops
  ErrorCode code = caller_can_act(merged.error()) ? merged.error().code : ErrorCode::kResourceExhausted;
  co_return fail(code,
                 fmt::format("this sandbox already runs on {} saved layers, the most a sandbox can start "
                             "on, and merging them into one failed: {}",
                             stack.layers.size() - 1, merged.error().message));
}

asio::awaitable<Result<SavedLayer>> SavedLayers::merge(const std::vector<std::string>& stack) {
  // The new top is in no record yet; the others may lose theirs meanwhile (a snapshot deleted).
  Pin held = pin(stack);
  SavedLayer layer{random_id(20), 0};
  auto write = [this, sources = paths(stack), dest = path(layer.id)]() {
    return runtime_.merge_layers(sources, dest);
  };
  auto size = co_await on_pool(blocking_, std::move(write));
  if (!size) co_return tl::unexpected(size.error());
  layer.size_bytes = *size;
  // The layers it replaces are freed once no record lists them; until then both count against the budget.
  auto used = store_.total_bytes();
  Status recorded = used ? store_.add(layer.id, static_cast<std::int64_t>(layer.size_bytes))
                         : Status(tl::unexpected(used.error()));
  if (!recorded) {
    auto undo = [dir = path(layer.id)]() { return remove_tree(dir); };
    (void)co_await on_pool(blocking_, std::move(undo));
    co_return tl::unexpected(recorded.error());
  }
  if (static_cast<std::uint64_t>(*used) + layer.size_bytes > budget_bytes_) {
    co_await discard(layer.id);
    co_return fail(
        ErrorCode::kNotEnoughSpace,
        fmt::format("the storage for saved files has no room for a merged copy of {} layers ({} of "
                    "{} in use, the copy takes {})",
                    stack.size(), gib(static_cast<std::uint64_t>(*used)), gib(budget_bytes_),
                    gib(layer.size_bytes)));
  }
  spdlog::info("merged {} saved layers into {} ({} bytes)", stack.size(), layer.id, layer.size_bytes);
  co_return layer;
}

asio::awaitable<void> SavedLayers::discard(const std::string& id) {
  auto remove = [dir = path(id)]() { return remove_tree(dir); };
  if (Status removed = co_await on_pool(blocking_, std::move(remove)); !removed) {
    spdlog::error("removing saved layer {}: {}", id, removed.error().message);
    co_return;  // collect() tries again
  }
  (void)store_.remove(id);
}

asio::awaitable<void> SavedLayers::collect() {
  auto unused = store_.unused();
  if (!unused) {
    spdlog::error("collecting saved layers: {}", unused.error().message);
    co_return;
  }
  for (const auto& id : *unused) {
    if (!pinned_.count(id)) co_await discard(id);
  }
}

asio::awaitable<void> SavedLayers::recover() {
  co_await collect();
  auto known = store_.all();
  if (!known) {
    spdlog::error("listing saved layers: {}", known.error().message);
    co_return;
  }
  // Directories no record names: a save the server did not live to record.
  std::set<std::string> recorded(known->begin(), known->end());
  auto sweep = [this, recorded]() -> Status {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      if (recorded.count(entry.path().filename().string())) continue;
      if (auto removed = remove_tree(entry.path().string()); !removed) return removed;
    }
    return {};
  };
  if (Status swept = co_await on_pool(blocking_, std::move(sweep)); !swept) {
    spdlog::error("removing unrecorded saved layers: {}", swept.error().message);
  }
}

}  // namespace cellblock::sandbox
