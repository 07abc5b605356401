#include "sandbox/saved_layers.h"

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
                         std::string dir, std::uint64_t budget_bytes)
    : blocking_(blocking),
      runtime_(runtime),
      store_(store),
      dir_(std::move(dir)),
      budget_bytes_(budget_bytes) {}

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

asio::awaitable<Result<SavedLayer>> SavedLayers::save(const runtime::SandboxHandle& handle, std::size_t depth,
                                                      std::uint64_t expected_bytes) {
  if (depth + 1 > kMaxStack) {
    co_return fail(
        ErrorCode::kResourceExhausted,
        fmt::format("this sandbox already runs on {} saved layers, the most a sandbox can start on; "
                    "its files cannot be saved again",
                    depth));
  }
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
  co_return layer;
}

asio::awaitable<void> SavedLayers::collect() {
  auto unused = store_.unused();
  if (!unused) {
    spdlog::error("collecting saved layers: {}", unused.error().message);
    co_return;
  }
  for (const auto& id : *unused) {
    if (pinned_.count(id)) continue;
    auto remove = [dir = path(id)]() { return remove_tree(dir); };
    if (Status removed = co_await on_pool(blocking_, std::move(remove)); !removed) {
      spdlog::error("removing saved layer {}: {}", id, removed.error().message);
      continue;
    }
    (void)store_.remove(id);
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
