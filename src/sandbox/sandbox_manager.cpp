#include "sandbox/sandbox_manager.h"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/encoding.h"
#include "runtime/handle_json.h"
#include "sandbox/claimed.h"

namespace cellblock::sandbox {
namespace {

namespace fs = std::filesystem;

std::int64_t seconds_to_nanos(std::int64_t seconds) {
  return seconds * 1'000'000'000;
}

}  // namespace

Error capacity_reached(std::size_t limit) {
  return Error{ErrorCode::kResourceExhausted,
               "you have reached the maximum number of concurrent sandboxes (" + std::to_string(limit) +
                   "): kill or pause one, or start the server with a larger --max-sandboxes"};
}

Error sandbox_not_found(std::string_view id) {
  return Error{ErrorCode::kNotFound,
               "Sandbox \"" + std::string(id) + "\" doesn't exist or you don't have access to it"};
}

SandboxManager::SandboxManager(asio::any_io_executor executor, asio::thread_pool& blocking,
                               runtime::Runtime& runtime, AgentControl& agents, ManagerStores stores,
                               std::vector<TemplateEntry> templates, ManagerSettings settings,
                               net::SandboxNetwork* network)
    : executor_(executor),
      blocking_(blocking),
      runtime_(runtime),
      agents_(agents),
      store_(stores.sandboxes),
      snapshots_(stores.snapshots),
      templates_(std::move(templates)),
      settings_(std::move(settings)),
      network_(network),
      capacity_(settings_.max_sandboxes),
      boot_admission_(executor, std::max<std::size_t>(1, settings_.boot_concurrency)),
      booter_(executor, blocking, runtime, settings_.boot, network),
      layers_(blocking, runtime, stores.layers, (fs::path(settings_.boot.state_dir) / "layers").string(),
              settings_.layer_storage_bytes, settings_.layer_merge_depth),
      work_(executor) {
  for (const auto& entry : templates_) {
    pools_[&entry] = std::make_unique<WarmPool>(executor_, entry, booter_, capacity_, boot_admission_,
                                                settings_.pool_size);
  }
}

SandboxManager::~SandboxManager() = default;

const TemplateEntry* SandboxManager::find_template(std::string_view name) const {
  for (const auto& entry : templates_) {
    if (entry.info.name == name) return &entry;
    for (const auto& alias : entry.aliases) {
      if (alias == name) return &entry;
    }
  }
  return nullptr;
}

std::size_t SandboxManager::warm_count() const {
  std::size_t ready = 0;
  for (const auto& [entry, pool] : pools_) ready += pool->ready_count();
  return ready;
}

WarmPool& SandboxManager::pool_of(const TemplateEntry* entry) {
  return *pools_.at(entry);
}

Result<std::chrono::seconds> SandboxManager::lifetime(std::optional<std::int64_t> seconds) const {
  if (!seconds) return settings_.default_timeout;
  if (*seconds <= 0) return fail(ErrorCode::kInvalidArgument, "timeout must be a positive number of seconds");
  if (*seconds > settings_.max_timeout.count()) {
    return fail(ErrorCode::kInvalidArgument,
                "timeout must be at most " + std::to_string(settings_.max_timeout.count()) + " seconds");
  }
  return std::chrono::seconds(*seconds);
}

asio::awaitable<void> SandboxManager::start() {
  std::error_code ec;
  const fs::path state_dir = settings_.boot.state_dir;
  fs::create_directories(state_dir / "sandboxes", ec);
  fs::create_directories(state_dir / "logs", ec);
  // The sandbox directories must be reachable by the sandbox's unprivileged ids (mounts, the agent's socket).
  for (const auto& dir : {state_dir, state_dir / "sandboxes"}) {
    fs::permissions(dir, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add, ec);
  }
  co_await recover();
  co_await layers_.recover();
  sampler_ = std::make_unique<asio::steady_timer>(executor_);
  asio::co_spawn(executor_, sample_metrics(), asio::detached);
  for (auto& [entry, pool] : pools_) pool->refill();
}

asio::awaitable<void> SandboxManager::stop() {
  stopping_ = true;
  if (sampler_) sampler_->cancel();
  for (auto& [id, sandbox] : claimed_) sandbox->timer.cancel();
  co_await booter_.stop();  // boots in flight give up and destroy what they started
  for (auto& [entry, pool] : pools_) co_await pool->stop();
  co_await work_.close();
  if (settings_.on_shutdown == ShutdownMode::kKill) {
    auto doomed = claimed_;
    for (auto& [id, sandbox] : doomed) {
      auto guard = co_await sandbox->lock.lock();
      std::string reason = "server shutdown";
      (void)co_await kill_locked(sandbox, std::move(reason));
    }
  }
  // With no sandbox process left nothing needs the firewall: a server stopped this way leaves no rules.
  const bool processes_left = std::any_of(claimed_.begin(), claimed_.end(), [](const auto& entry) {
    return entry.second->phase != Phase::kPausedOnDisk;
  });
  if (network_) co_await network_->stop();
  if (network_ && !processes_left) {
    if (Status removed = network_->remove(); !removed) spdlog::warn("{}", removed.error().message);
  }
}

// Room for one more sandbox of `entry`; a ready sandbox of another template gives its room up if needed.
std::optional<Capacity::Slot> SandboxManager::reserve_for(const TemplateEntry* entry) {
  if (auto slot = capacity_.reserve()) return slot;
  for (auto& [other, pool] : pools_) {
    if (other != entry && pool->evict_one()) return capacity_.reserve();
  }
  return std::nullopt;
}

asio::awaitable<Result<store::SandboxRecord>> SandboxManager::create(CreateCommand command) {
  if (stopping_) co_return fail(ErrorCode::kUnavailable, "the server is stopping");
  auto ttl = lifetime(command.timeout_seconds);
  if (!ttl) co_return tl::unexpected(ttl.error());
  const TemplateEntry* entry = find_template(command.template_id);
  if (!entry) {
    auto snapshot = find_snapshot(command.template_id);
    if (!snapshot && snapshot.error().code == ErrorCode::kNotFound)
      co_return fail(ErrorCode::kInvalidArgument, "template '" + command.template_id + "' does not exist");
    if (!snapshot) co_return tl::unexpected(snapshot.error());
    co_return co_await create_from_snapshot(std::move(*snapshot), std::move(command), *ttl);
  }
  WarmPool& pool = pool_of(entry);
  // The room is taken here, before the first suspension point: concurrent creates cannot overshoot.
  std::optional<WarmSandbox> warm = pool.take();
  std::optional<Capacity::Slot> slot;
  if (!warm) {
    slot = reserve_for(entry);
    if (!slot) {
      co_return tl::unexpected(capacity_reached(capacity_.limit()));
    }
  }
  pool.refill();
  if (!warm) {
    auto waited = co_await pool.wait(std::move(*slot));
    if (!waited) co_return fail(waited.error().code, "starting a sandbox failed: " + waited.error().message);
    warm = std::move(*waited);
  }
  co_return co_await claim(*entry, std::move(*warm), std::move(command), *ttl);
}

asio::awaitable<Result<store::SandboxRecord>> SandboxManager::create_from_snapshot(
    store::SnapshotRecord snapshot, CreateCommand command, std::chrono::seconds ttl) {
  const TemplateEntry* entry = find_template(snapshot.base_template);
  if (!entry) {
    co_return fail(ErrorCode::kInternal, "snapshot '" + command.template_id + "' is of template '" +
                                             snapshot.base_template + "', which this server no longer has");
  }
  auto slot = reserve_for(entry);
  if (!slot) {
    co_return tl::unexpected(capacity_reached(capacity_.limit()));
  }
  auto pin = layers_.pin(snapshot.layers);  // a delete of the snapshot meanwhile must not take its files
  BootTarget target;
  target.layers = layers_.paths(snapshot.layers);
  auto booted = co_await boot_admitted(*entry, std::move(target));
  if (!booted) co_return fail(booted.error().code, "starting a sandbox failed: " + booted.error().message);
  WarmSandbox warm{std::move(*booted), std::move(slot)};
  co_return co_await claim(*entry, std::move(warm), std::move(command), ttl, &snapshot);
}

// A boot outside the warm pools (a snapshot's sandbox, a reboot from disk), admitted like theirs.
asio::awaitable<Result<runtime::SandboxHandle>> SandboxManager::boot_admitted(const TemplateEntry& entry,
                                                                              BootTarget target) {
  auto permit = co_await boot_admission_.acquire();
  if (stopping_) co_return fail(ErrorCode::kUnavailable, "the server is stopping");
  co_return co_await booter_.boot(entry, std::move(target));
}

// Hands a warm sandbox to its user: the agent gets the environment, a new token and its own deadline; the
// record is written; only then is the sandbox routable.
asio::awaitable<Result<store::SandboxRecord>> SandboxManager::claim(const TemplateEntry& entry,
                                                                    WarmSandbox warm, CreateCommand command,
                                                                    std::chrono::seconds ttl,
                                                                    const store::SnapshotRecord* snapshot) {
  auto sandbox = std::make_shared<Claimed>(executor_);
  sandbox->id = warm.handle.id;
  sandbox->handle = warm.handle;
  sandbox->slot = std::move(warm.slot);
  sandbox->access_token = random_hex(24);
  sandbox->started_at = unix_nanos_now();
  sandbox->end_at = sandbox->started_at + seconds_to_nanos(ttl.count());
  sandbox->timeout_seconds = ttl.count();
  sandbox->lifecycle = command.lifecycle;
  sandbox->base = &entry;
  if (snapshot) sandbox->layers = snapshot->layers;
  if (command.network) sandbox->ingress = command.network->ingress;

  ClaimRequest request{command.env_vars, sandbox->access_token,
                       sandbox->agent_deadline_ms(settings_.deadline_grace)};
  if (Status claimed = co_await agents_.claim(sandbox->handle.socket_path, std::move(request)); !claimed) {
    co_await booter_.destroy(sandbox->handle);
    co_return fail(ErrorCode::kInternal, "initialising the sandbox failed: " + claimed.error().message);
  }
  const net::NetworkConfig network = command.network.value_or(net::NetworkConfig{});
  if (Status connected = connect_network(sandbox->handle, network); !connected) {
    co_await booter_.destroy(sandbox->handle);
    co_return fail(ErrorCode::kInternal, "connecting the sandbox failed: " + connected.error().message);
  }

  store::SandboxRecord record;
  record.id = sandbox->id;
  record.template_id = snapshot ? snapshot->template_id : entry.info.name;
  record.alias = command.template_id == record.template_id ? "" : command.template_id;
  record.layers = sandbox->layers;
  if (snapshot) record.base_template = entry.info.name;
  record.client_id = "cellblock";
  record.metadata = std::move(command.metadata);
  record.env_vars = std::move(command.env_vars);
  record.started_at = sandbox->started_at;
  record.end_at = sandbox->end_at;
  record.state = store::SandboxState::kRunning;
  record.envd_access_token = sandbox->access_token;
  const runtime::Limits& limits = settings_.boot.limits;
  record.cpu_count = static_cast<std::int64_t>(limits.cpus);
  record.memory_mb = static_cast<std::int64_t>(limits.memory_bytes >> 20);
  record.disk_size_mb = static_cast<std::int64_t>(limits.disk_bytes >> 20);
  record.timeout_seconds = sandbox->timeout_seconds;
  record.lifecycle = sandbox->lifecycle;
  record.handle = runtime::to_json(sandbox->handle);
  if (command.network) record.network = net::to_json(*command.network);
  if (auto ok = store_.insert(record); !ok) {
    co_await booter_.destroy(sandbox->handle);
    co_return tl::unexpected(ok.error());
  }
  (void)transition(*sandbox, Transition::kClaim);
  claimed_[record.id] = sandbox;
  arm_timer(sandbox);
  co_return record;
}

Status SandboxManager::transition(Claimed& sandbox, Transition transition) {
  auto next = next_phase(sandbox.id, sandbox.phase, transition);
  if (!next) return tl::unexpected(next.error());
  sandbox.phase = *next;
  return {};
}

Result<std::shared_ptr<SandboxManager::Claimed>> SandboxManager::find(const std::string& id) const {
  auto it = claimed_.find(id);
  if (it == claimed_.end()) return tl::unexpected(sandbox_not_found(id));
  return it->second;
}

store::SandboxRecord SandboxManager::with_live_state(store::SandboxRecord record) const {
  if (auto it = claimed_.find(record.id); it != claimed_.end()) {
    if (auto state = visible_state(it->second->phase)) record.state = *state;
  }
  return record;
}

Result<store::SandboxRecord> SandboxManager::get(const std::string& id) {
  auto record = store_.get(id);
  if (!record || record->state == store::SandboxState::kKilled) return tl::unexpected(sandbox_not_found(id));
  if (auto it = claimed_.find(id); it != claimed_.end() && !visible_state(it->second->phase)) {
    return tl::unexpected(sandbox_not_found(id));  // being killed
  }
  return with_live_state(std::move(*record));
}

Result<store::SandboxPage> SandboxManager::list(const store::ListQuery& query) {
  auto page = store_.list(query);
  if (!page) return page;
  for (auto& record : page->records) record = with_live_state(std::move(record));
  return page;
}

asio::awaitable<Status> SandboxManager::kill(const std::string& id, std::string reason) {
  auto sandbox = find(id);
  if (!sandbox) co_return tl::unexpected(sandbox.error());
  auto guard = co_await (*sandbox)->lock.lock();
  co_return co_await kill_locked(*sandbox, std::move(reason));
}

asio::awaitable<Status> SandboxManager::kill_locked(std::shared_ptr<Claimed> sandbox, std::string reason) {
  if (sandbox->phase == Phase::kKilled) co_return tl::unexpected(sandbox_not_found(sandbox->id));
  if (auto ok = transition(*sandbox, Transition::kKill); !ok) co_return ok;
  sandbox->timer.cancel();
  sandbox->abort->abort();  // open streams end abruptly, as when E2B kills a sandbox
  if (auto ok = store_.mark_killed(sandbox->id, reason); !ok) {
    spdlog::error("recording the kill of {}: {}", sandbox->id, ok.error().message);
  }
  claimed_.erase(sandbox->id);
  if (!sandbox->handle.sandbox_dir.empty())
    co_await booter_.destroy(sandbox->handle);  // none: paused on disk
  (void)transition(*sandbox, Transition::kKilled);
  sandbox->slot.reset();
  if (!sandbox->layers.empty()) co_await layers_.collect();
  spdlog::info("sandbox {} killed ({})", sandbox->id, reason);
  co_return Status{};
}

asio::awaitable<Status> SandboxManager::set_timeout(const std::string& id, std::int64_t seconds) {
  auto sandbox = find(id);
  if (!sandbox) co_return tl::unexpected(sandbox.error());
  auto ttl = lifetime(seconds);
  if (!ttl) co_return tl::unexpected(ttl.error());
  auto guard = co_await (*sandbox)->lock.lock();
  if ((*sandbox)->phase != Phase::kRunning) co_return tl::unexpected(sandbox_not_found(id));
  co_return co_await extend_locked(**sandbox, *ttl, /*only_extend=*/false);
}

// A running sandbox's end moves to now + ttl (with `only_extend`, never earlier than it was).
asio::awaitable<Status> SandboxManager::extend_locked(Claimed& sandbox, std::chrono::seconds ttl,
                                                      bool only_extend) {
  const std::int64_t wanted = unix_nanos_now() + seconds_to_nanos(ttl.count());
  if (only_extend && wanted <= sandbox.end_at) co_return Status{};
  if (auto ok = store_.update_end_at(sandbox.id, wanted); !ok) co_return ok;
  sandbox.end_at = wanted;
  arm_timer(claimed_.at(sandbox.id));
  co_await push_deadline(sandbox);
  co_return Status{};
}

// The agent's own deadline follows the server's: end_at plus the grace (none for a sandbox whose timeout
// pauses it: only the server can pause).
asio::awaitable<Status> SandboxManager::push_deadline(Claimed& sandbox) {
  Status sent = co_await agents_.set_deadline(sandbox.route().endpoint(),
                                              sandbox.agent_deadline_ms(settings_.deadline_grace));
  if (!sent)
    spdlog::warn("sandbox {}: the agent did not take its deadline: {}", sandbox.id, sent.error().message);
  co_return sent;
}

void SandboxManager::arm_timer(const std::shared_ptr<Claimed>& sandbox) {
  const std::int64_t left = sandbox->end_at - unix_nanos_now();
  sandbox->timer.expires_after(std::chrono::nanoseconds(std::max<std::int64_t>(left, 0)));
  sandbox->timer.async_wait([this, weak = std::weak_ptr<Claimed>(sandbox)](boost::system::error_code ec) {
    auto sandbox = weak.lock();
    if (ec || !sandbox || stopping_) return;
    asio::co_spawn(executor_, expire(sandbox->id), asio::detached);
  });
}

// The timeout: kill, or pause when the sandbox asked for it (a pause that fails kills).
asio::awaitable<void> SandboxManager::expire(std::string id) {
  auto pass = work_.enter();
  if (!pass) co_return;
  auto sandbox = find(id);
  if (!sandbox) co_return;
  auto guard = co_await (*sandbox)->lock.lock();
  if ((*sandbox)->phase != Phase::kRunning) co_return;
  if ((*sandbox)->end_at > unix_nanos_now()) {  // extended meanwhile
    arm_timer(*sandbox);
    co_return;
  }
  if ((*sandbox)->lifecycle.pause_on_timeout) {
    auto paused = co_await pause_locked(*sandbox, (*sandbox)->lifecycle.keep_memory);
    if (paused) co_return;
    spdlog::error("sandbox {}: pausing at its timeout failed ({}); killing it", id, paused.error().message);
  }
  std::string reason = "timeout";
  (void)co_await kill_locked(*sandbox, std::move(reason));
}

std::optional<Route> SandboxManager::route(const std::string& id) const {
  auto it = claimed_.find(id);
  if (it == claimed_.end() || !reachable(it->second->phase)) return std::nullopt;
  return it->second->route();
}

std::string SandboxManager::traffic_token(const std::string& id) const {
  auto it = claimed_.find(id);
  if (it == claimed_.end()) return {};
  return it->second->route().traffic_token;
}

std::vector<std::pair<std::string, Route>> SandboxManager::routes() const {
  std::vector<std::pair<std::string, Route>> out;
  for (const auto& [id, sandbox] : claimed_) {
    if (reachable(sandbox->phase)) out.emplace_back(id, sandbox->route());
  }
  return out;
}

Result<std::vector<Metric>> SandboxManager::metrics(const std::string& id,
                                                    std::optional<std::int64_t> start_unix,
                                                    std::optional<std::int64_t> end_unix) {
  auto sandbox = find(id);
  if (!sandbox) return tl::unexpected(sandbox.error());
  return (*sandbox)->metrics.between(start_unix, end_unix);
}

// Samples every running sandbox's cgroup usage every 5 s (the first sample right away, clients poll for one).
asio::awaitable<void> SandboxManager::sample_metrics() {
  while (!stopping_) {
    const std::int64_t now = unix_nanos_now();
    auto traffic = network_ ? network_->counters() : std::map<std::string, net::TrafficCounters>{};
    for (auto& [id, sandbox] : claimed_) {
      if (sandbox->phase != Phase::kRunning) continue;
      std::optional<net::TrafficCounters> counters;
      if (auto it = traffic.find(id); it != traffic.end()) counters = it->second;
      if (auto usage = runtime_.usage(sandbox->handle))
        sandbox->metrics.record(*usage, settings_.boot.limits, now, counters);
    }
    sampler_->expires_after(std::chrono::seconds(5));
    auto [ec] = co_await sampler_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace cellblock::sandbox
