#pragma once
// Sandbox lifecycle: create (claiming from a warm pool), timeouts, kill, pause and resume, metrics and
// recovery after a restart of the server. The only part of the server that changes sandbox state; api/ turns
// requests into calls here and proxy/ asks it where a sandbox's agent listens.
//
// Each claimed sandbox moves through the state machine of sandbox_state.h. Lifecycle operations on one
// sandbox (kill, pause, resume, its timeout) run one at a time under its lock; a transition is written to the
// store before clients can observe it. Files: sandbox_manager.cpp (create, kill, timeouts, routes),
// pause_resume.cpp, snapshots.cpp, recovery.cpp; the pool, boots, capacity, saved layers and metrics live in
// their own files.
//
// Threading: every method runs on the server's executor. Blocking runtime calls go to the thread pool.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/abort_handle.h"
#include "common/async_primitives.h"
#include "common/error.h"
#include "net/egress_rules.h"
#include "runtime/runtime.h"
#include "sandbox/agent_client.h"
#include "sandbox/boot.h"
#include "sandbox/capacity.h"
#include "sandbox/metrics_series.h"
#include "sandbox/sandbox_state.h"
#include "sandbox/saved_layers.h"
#include "sandbox/snapshot_name.h"
#include "sandbox/warm_pool.h"
#include "store/layer_store.h"
#include "store/sandbox_store.h"
#include "store/snapshot_store.h"

namespace cellblock::sandbox {

// What `serve` does with running sandboxes when it stops.
enum class ShutdownMode {
  kKeep,  // leave them running (and paused ones frozen): the next start reattaches them
  kKill,  // kill them all: nothing outlives the server
};

struct ManagerSettings {
  BootSettings boot;
  std::chrono::seconds default_timeout{300};
  std::chrono::seconds max_timeout{24 * 3600};
  std::size_t pool_size = 2;                        // ready sandboxes kept per template
  std::size_t max_sandboxes = 100;                  // booting + pooled + running + paused with memory
  std::uint64_t layer_storage_bytes = 20ULL << 30;  // saved files: filesystem-only pauses and snapshots
  std::size_t boot_concurrency = 2;                 // boots running at once, server-wide
  ShutdownMode on_shutdown = ShutdownMode::kKeep;
  // A save that would leave a sandbox's files in a deeper stack of saved layers merges the stack into one.
  std::size_t layer_merge_depth = SavedLayers::kMergeDepth;
  // Added to the deadline an agent enforces by itself: the server, while it runs, always ends a sandbox
  // first.
  std::chrono::seconds deadline_grace{5};
};

struct CreateCommand {
  std::string template_id;
  std::optional<std::int64_t> timeout_seconds;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> env_vars;
  store::LifecyclePolicy lifecycle;
  // From `network` and `allow_internet_access`; none when the body had neither (internet on, no rules).
  std::optional<net::NetworkConfig> network;
};

// Where the proxy sends a sandbox's traffic.
struct Route {
  std::string socket_path;
  std::string access_token;
  std::shared_ptr<AbortHandle> abort;  // kill and pause cut every exchange holding it
  // Non-empty: requests to ports other than envd's must carry it (allowPublicTraffic: false).
  std::string traffic_token;
  std::optional<std::string> mask_request_host;  // the Host such requests arrive with ("${PORT}" expanded)
  AgentEndpoint endpoint() const { return {socket_path, access_token}; }
};

struct ConnectOutcome {
  store::SandboxRecord record;
  bool resumed = false;  // E2B answers 201 for a resume, 200 for a running sandbox
};

// The stores the lifecycle writes; they must outlive the manager.
struct ManagerStores {
  store::SandboxStore& sandboxes;
  store::SnapshotStore& snapshots;
  store::LayerStore& layers;
};

class SandboxManager {
 public:
  // `network`: the sandboxes' links and egress rules; null: sandboxes have their loopback only.
  SandboxManager(asio::any_io_executor executor, asio::thread_pool& blocking, runtime::Runtime& runtime,
                 AgentControl& agents, ManagerStores stores, std::vector<TemplateEntry> templates,
                 ManagerSettings settings, net::SandboxNetwork* network = nullptr);
  ~SandboxManager();

  // Reattaches sandboxes that survived a restart, reaps the rest, then starts filling the warm pools.
  asio::awaitable<void> start();
  // Stops the timers, the pools and the boots; then, per ShutdownMode, keeps or kills the claimed sandboxes.
  asio::awaitable<void> stop();

  asio::awaitable<Result<store::SandboxRecord>> create(CreateCommand command);
  // Killed and unknown sandboxes are kNotFound.
  Result<store::SandboxRecord> get(const std::string& id);
  Result<store::SandboxPage> list(const store::ListQuery& query);
  asio::awaitable<Status> kill(const std::string& id, std::string reason);
  // A running sandbox's lifetime from now; a paused one is kNotFound (E2B only updates live sandboxes).
  asio::awaitable<Status> set_timeout(const std::string& id, std::int64_t seconds);
  // Running: extends (never shortens) the lifetime. Paused: resumes it; `keep_memory` false boots it anew on
  // its files (what a filesystem-only pause always does).
  asio::awaitable<Result<ConnectOutcome>> connect(const std::string& id,
                                                  std::optional<std::int64_t> timeout_seconds,
                                                  bool keep_memory = true);
  // The deprecated POST /resume: like connect, but kConflict for a running sandbox.
  asio::awaitable<Result<store::SandboxRecord>> resume(const std::string& id,
                                                       std::optional<std::int64_t> timeout_seconds);
  // Freezes every process of the sandbox (memory kept), or with `keep_memory` false saves its files and ends
  // its processes; kConflict when already paused or in a transition.
  asio::awaitable<Status> pause(const std::string& id, bool keep_memory = true);
  // A persistent snapshot of a running sandbox's files, taken while it is frozen for an instant; a name
  // already taken (with the same tag) moves to the new snapshot. A paused sandbox is kNotFound (E2B).
  asio::awaitable<Result<store::SnapshotRecord>> create_snapshot(const std::string& id,
                                                                 std::optional<SnapshotName> name);
  Result<store::SnapshotPage> list_snapshots(const store::SnapshotQuery& query);
  // Replaces a running sandbox's egress rules (PUT /sandboxes/{id}/network); open connections the new rules
  // forbid are cut. A paused sandbox is kNotFound (E2B).
  asio::awaitable<Status> update_network(const std::string& id, net::NetworkUpdate update);
  // Deletes every tag of the snapshot `reference` names; false when there is none. kInvalidArgument while
  // alive sandboxes were started from it.
  asio::awaitable<Result<bool>> delete_snapshot(std::string_view reference);
  // Traffic for a sandbox that is not running: resumes it when it is paused with auto-resume and the request
  // carries its token; otherwise kSandboxUnavailable (the proxy's 502), kPermissionDenied or kConflict.
  asio::awaitable<Result<Route>> wake(const std::string& id, std::optional<std::string_view> access_token);

  Result<std::vector<Metric>> metrics(const std::string& id, std::optional<std::int64_t> start_unix,
                                      std::optional<std::int64_t> end_unix);
  // Only running sandboxes have a route.
  std::optional<Route> route(const std::string& id) const;
  // The traffic access token a sandbox's non-envd traffic must carry, whatever its state; empty when its
  // traffic is public (or it is unknown).
  std::string traffic_token(const std::string& id) const;
  // Every running sandbox's route (signed file URLs carry no sandbox id: the proxy checks signatures).
  std::vector<std::pair<std::string, Route>> routes() const;
  const std::vector<TemplateEntry>& templates() const { return templates_; }
  // Resolves an id or alias.
  const TemplateEntry* find_template(std::string_view name) const;
  // Resolves `[<namespace>/]<name or id>[:<tag>]` to a snapshot; kNotFound when none matches.
  Result<store::SnapshotRecord> find_snapshot(std::string_view reference);
  const Capacity& capacity() const { return capacity_; }
  // Warm sandboxes ready to be claimed, over all templates.
  std::size_t warm_count() const;

 private:
  struct Claimed;

  Result<std::chrono::seconds> lifetime(std::optional<std::int64_t> seconds) const;
  WarmPool& pool_of(const TemplateEntry* entry);
  std::optional<Capacity::Slot> reserve_for(const TemplateEntry* entry);
  // A sandbox from a snapshot: booted on its layers (snapshots have no warm pool).
  asio::awaitable<Result<store::SandboxRecord>> create_from_snapshot(store::SnapshotRecord snapshot,
                                                                     CreateCommand command,
                                                                     std::chrono::seconds ttl);
  asio::awaitable<Result<runtime::SandboxHandle>> boot_admitted(const TemplateEntry& entry,
                                                                BootTarget target);
  asio::awaitable<Result<store::SandboxRecord>> claim(const TemplateEntry& entry, WarmSandbox warm,
                                                      CreateCommand command, std::chrono::seconds ttl,
                                                      const store::SnapshotRecord* snapshot = nullptr);
  Result<std::shared_ptr<Claimed>> find(const std::string& id) const;
  // Applies a transition of sandbox_state.h to the sandbox's phase (the caller has persisted what it must).
  Status transition(Claimed& sandbox, Transition transition);
  void arm_timer(const std::shared_ptr<Claimed>& sandbox);
  asio::awaitable<void> expire(std::string id);
  asio::awaitable<Status> push_deadline(Claimed& sandbox);
  asio::awaitable<Status> extend_locked(Claimed& sandbox, std::chrono::seconds ttl, bool only_extend);
  asio::awaitable<Status> kill_locked(std::shared_ptr<Claimed> sandbox, std::string reason);
  asio::awaitable<Status> pause_locked(std::shared_ptr<Claimed> sandbox, bool keep_memory);
  asio::awaitable<Status> resume_locked(std::shared_ptr<Claimed> sandbox, std::chrono::seconds ttl);
  // Keeps a frozen sandbox's files as a layer and ends its processes: it is paused on disk.
  asio::awaitable<Status> save_to_disk(Claimed& sandbox, std::int64_t paused_at);
  // Boots a sandbox paused on disk anew on its saved files, under its id and token.
  asio::awaitable<Status> reboot_locked(std::shared_ptr<Claimed> sandbox, std::chrono::seconds ttl);
  store::SandboxRecord with_live_state(store::SandboxRecord record) const;
  // Applies a sandbox's stored network configuration (JSON of the record; empty: none) to its link.
  Status connect_network(const runtime::SandboxHandle& handle, const std::string& stored);
  Status connect_network(const runtime::SandboxHandle& handle, const net::NetworkConfig& config);
  asio::awaitable<void> sample_metrics();
  asio::awaitable<void> recover();
  std::shared_ptr<Claimed> adopt(const store::SandboxRecord& record, runtime::SandboxHandle handle,
                                 Phase phase);

  asio::any_io_executor executor_;
  asio::thread_pool& blocking_;
  runtime::Runtime& runtime_;
  AgentControl& agents_;
  store::SandboxStore& store_;
  store::SnapshotStore& snapshots_;
  std::vector<TemplateEntry> templates_;
  ManagerSettings settings_;
  net::SandboxNetwork* network_;
  Capacity capacity_;  // before everything that holds slots
  AsyncSemaphore boot_admission_;
  Booter booter_;
  SavedLayers layers_;
  std::map<const TemplateEntry*, std::unique_ptr<WarmPool>> pools_;
  std::map<std::string, std::shared_ptr<Claimed>, std::less<>> claimed_;
  Gate work_;  // lifecycle work in flight (expiries, sampling); closed by stop()
  std::unique_ptr<asio::steady_timer> sampler_;
  bool stopping_ = false;
};

}  // namespace cellblock::sandbox
