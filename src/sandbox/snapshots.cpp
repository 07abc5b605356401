// Persistent snapshots (spec e2b-lifecycle.md §7). A snapshot is the sandbox's files: its writable layer,
// copied while the sandbox is frozen for an instant, over the layers it already ran on. Memory is not part of
// it: a sandbox started from a snapshot boots anew on those files (new kernels). Snapshots survive restarts
// of the server and the kill of their sandbox; their disk use counts against --layer-storage.
#include <spdlog/spdlog.h>

#include "common/blocking_call.h"
#include "common/encoding.h"
#include "sandbox/claimed.h"

namespace cellblock::sandbox {

Result<store::SnapshotRecord> SandboxManager::find_snapshot(std::string_view reference) {
  auto ref = parse_template_ref(reference);
  if (!ref) return fail(ErrorCode::kNotFound, "snapshot '" + std::string(reference) + "' not found");
  return snapshots_.get(ref->name, ref->tag.value_or(std::string(kDefaultTag)));
}

asio::awaitable<Result<store::SnapshotRecord>> SandboxManager::create_snapshot(
    const std::string& id, std::optional<SnapshotName> name) {
  auto sandbox = find(id);
  if (!sandbox) co_return tl::unexpected(sandbox.error());
  auto guard = co_await (*sandbox)->lock.lock();
  // E2B: only a running sandbox can be snapshotted; a paused one is not found.
  if (paused((*sandbox)->phase) || (*sandbox)->phase == Phase::kKilled)
    co_return tl::unexpected(sandbox_not_found(id));
  if (auto ok = transition(**sandbox, Transition::kSnapshot); !ok) co_return tl::unexpected(ok.error());
  const runtime::SandboxHandle handle = (*sandbox)->handle;
  auto freeze = [this, handle]() { return runtime_.freeze(handle); };
  auto thaw = [this, handle]() { return runtime_.thaw(handle); };
  Result<SavedStack> saved = fail(ErrorCode::kInternal, "not taken");
  if (Status frozen = co_await on_pool(blocking_, freeze); !frozen) {
    saved = tl::unexpected(frozen.error());
  } else {
    saved = co_await layers_.save_top(handle, (*sandbox)->layers);
  }
  // Nothing lists the new layer until the snapshot is stored: a collect() meanwhile must leave it.
  std::optional<SavedLayers::Pin> pin;
  if (saved) pin.emplace(layers_.pin(saved->layers));
  if (Status thawed = co_await on_pool(blocking_, thaw); !thawed) {
    spdlog::error("sandbox {}: thawing it after a snapshot failed: {}", id, thawed.error().message);
  }
  // A merge of a deep stack copies every file it holds: done with the sandbox running again.
  if (saved) {
    saved = co_await layers_.compact(std::move(*saved));
    pin.reset();
    if (saved) pin.emplace(layers_.pin(saved->layers));
  }
  (void)transition(**sandbox, Transition::kSnapshotted);
  if (!saved) {
    ErrorCode code = caller_can_act(saved.error()) ? saved.error().code : ErrorCode::kInternal;
    co_return fail(code, "Error creating the snapshot of sandbox '" + id + "': " + saved.error().message);
  }

  store::SnapshotRecord snapshot;
  snapshot.template_id = random_id(20);
  if (name) {
    auto owner = snapshots_.template_of_alias(name->alias);
    if (!owner) co_return tl::unexpected(owner.error());
    if (*owner) snapshot.template_id = **owner;  // a new build of the same snapshot template
    snapshot.alias = name->alias;
    snapshot.tag = name->tag;
  }
  snapshot.sandbox_id = id;
  snapshot.base_template = (*sandbox)->base ? (*sandbox)->base->info.name : "";
  snapshot.layers = std::move(saved->layers);
  snapshot.size_bytes = static_cast<std::int64_t>(saved->added_bytes);
  snapshot.created_at = unix_nanos_now();
  Status stored = snapshots_.put(snapshot);
  pin.reset();
  co_await layers_.collect();  // the build a name moved away from, or this layer if it was not stored
  if (!stored) co_return tl::unexpected(stored.error());
  spdlog::info("sandbox {}: snapshot {} taken ({} bytes)", id, snapshot_id(snapshot), snapshot.size_bytes);
  co_return snapshot;
}

Result<store::SnapshotPage> SandboxManager::list_snapshots(const store::SnapshotQuery& query) {
  return snapshots_.list(query);
}

asio::awaitable<Result<bool>> SandboxManager::delete_snapshot(std::string_view reference) {
  auto ref = parse_template_ref(reference);
  if (!ref) co_return false;
  std::string template_id = ref->name;  // a template id, or else an alias
  auto owner = snapshots_.template_of_alias(ref->name);
  if (!owner) co_return tl::unexpected(owner.error());
  if (*owner) template_id = **owner;
  for (auto state : {store::SandboxState::kRunning, store::SandboxState::kPaused}) {
    store::ListQuery users;
    users.states = {state};
    users.template_id = template_id;
    users.limit = 1;
    auto page = store_.list(users);
    if (!page) co_return tl::unexpected(page.error());
    if (!page->records.empty()) {
      co_return fail(ErrorCode::kInvalidArgument,
                     "cannot delete template '" + template_id + "' because there are " +
                         std::string(store::to_string(state)) + " sandboxes using it");
    }
  }
  auto removed = snapshots_.remove_template(template_id);
  if (!removed) co_return tl::unexpected(removed.error());
  if (*removed) {
    co_await layers_.collect();
    spdlog::info("snapshot template {} deleted", template_id);
  }
  co_return *removed;
}

}  // namespace cellblock::sandbox
