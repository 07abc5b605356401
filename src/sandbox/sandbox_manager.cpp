#include "sandbox/sandbox_manager.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/common/blocking_call.h"
#include "common/encoding.h"
#include "runtime/handle_json.h"
#include "sandbox/agent_control.h"

namespace cellblock::sandbox {
namespace {

namespace fs = std::filesystem;
using agent::on_pool;
constexpr std::size_t kMetricsKept = 720;  // one hour at one sample per 5 s

std::int64_t now_nanos() {
  return unix_nanos_now();
}
std::int64_t seconds_to_nanos(std::int64_t seconds) {
  return seconds * 1'000'000'000;
}

// The agent as PID 1: both services on one Unix socket in the run/ directory the host can reach.
std::vector<std::string> agent_argv(const templates::TemplateInfo& info) {
  std::string workdir = info.workdir.empty() || info.workdir == "/" ? "/home/user" : info.workdir;
  std::string user = info.user == "root" ? "root" : info.user;
  return {"/opt/cellblock/bin/cellblock-agent",
          "--listen",
          "",
          "--unix-socket",
          "/run/cellblock/agent.sock",
          "--ready-file",
          "/run/cellblock/ready",
          "--workdir",
          workdir,
          "--user",
          user,
          "--kernel-pythonpath",
          "/opt/cellblock/python",
          "--runtime-dir",
          "/tmp/.cellblock-agent"};
}

std::vector<std::string> agent_env(const templates::TemplateInfo& info) {
  std::vector<std::string> env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                  "HOME=/root", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"};
  for (const auto& [key, value] : info.env) env.push_back(key + "=" + value);
  return env;
}

}  // namespace

// A running sandbox that belongs to a user.
struct SandboxManager::Live {
  explicit Live(asio::any_io_executor executor) : timer(std::move(executor)) {}
  runtime::SandboxHandle handle;
  std::string access_token;
  std::int64_t end_at = 0;
  asio::steady_timer timer;
  std::shared_ptr<http::AbortHandle> abort = std::make_shared<http::AbortHandle>();
  std::deque<Metric> metrics;
  std::uint64_t last_cpu_ns = 0;
  std::int64_t last_sample = 0;
};

// A booted sandbox waiting in a template's pool: agent ready, no user, no token yet.
struct SandboxManager::Pooled {
  runtime::SandboxHandle handle;
};

SandboxManager::SandboxManager(asio::any_io_executor executor, asio::thread_pool& blocking,
                               runtime::Runtime& runtime, store::SandboxStore& store,
                               std::vector<TemplateEntry> templates, ManagerSettings settings)
    : executor_(std::move(executor)),
      blocking_(blocking),
      runtime_(runtime),
      store_(store),
      templates_(std::move(templates)),
      settings_(std::move(settings)) {}

SandboxManager::~SandboxManager() {
  *alive_ = false;
}

const TemplateEntry* SandboxManager::find_template(std::string_view name) const {
  for (const auto& entry : templates_) {
    if (entry.info.name == name) return &entry;
    for (const auto& alias : entry.aliases) {
      if (alias == name) return &entry;
    }
  }
  return nullptr;
}

std::string SandboxManager::log_file(const std::string& id) const {
  return (fs::path(settings_.state_dir) / "logs" / (id + ".log")).string();
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
  fs::create_directories(fs::path(settings_.state_dir) / "sandboxes", ec);
  fs::create_directories(fs::path(settings_.state_dir) / "logs", ec);
  // The sandbox directories must be reachable by the sandbox's unprivileged ids (mounts, the agent's socket).
  fs::permissions(settings_.state_dir, fs::perms::others_exec | fs::perms::group_exec, fs::perm_options::add,
                  ec);
  fs::permissions(fs::path(settings_.state_dir) / "sandboxes", fs::perms::others_exec | fs::perms::group_exec,
                  fs::perm_options::add, ec);
  co_await recover();
  sampler_ = std::make_unique<asio::steady_timer>(executor_);
  asio::co_spawn(executor_, sample_metrics(), asio::detached);
  for (const auto& entry : templates_) asio::co_spawn(executor_, fill_pool(&entry), asio::detached);
}

asio::awaitable<void> SandboxManager::stop() {
  *alive_ = false;
  // Boots in flight see the flag, give up waiting for their agent and destroy what they started.
  for (asio::steady_timer wait(executor_); booting_ > 0;) {
    wait.expires_after(std::chrono::milliseconds(20));
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  if (sampler_) sampler_->cancel();
  for (auto& [id, live] : live_) live->timer.cancel();
  for (auto& [entry, pool] : pools_) {
    while (!pool.empty()) {
      auto handle = pool.front().handle;
      pool.pop_front();
      co_await destroy(std::move(handle));
    }
  }
}

// Boots one sandbox of a template up to a warm kernel. Its id is final; it has no token and no user env yet.
asio::awaitable<Result<SandboxManager::Pooled>> SandboxManager::boot(const TemplateEntry& entry) {
  ++booting_;
  auto result = co_await boot_once(entry);
  --booting_;
  co_return result;
}

asio::awaitable<Result<SandboxManager::Pooled>> SandboxManager::boot_once(const TemplateEntry& entry) {
  runtime::SandboxSpec spec;
  spec.id = random_id(20);
  spec.rootfs = entry.info.rootfs.string();
  spec.sandbox_dir = (fs::path(settings_.state_dir) / "sandboxes" / spec.id).string();
  spec.argv = agent_argv(entry.info);
  spec.env = agent_env(entry.info);
  spec.binds.push_back({settings_.agent_binary, "/opt/cellblock/bin/cellblock-agent", true});
  if (!settings_.kernel_pythonpath.empty()) {
    spec.binds.push_back({settings_.kernel_pythonpath, "/opt/cellblock/python", true});
  }
  spec.limits = settings_.limits;
  // The agent's own output (kernel start-up errors, its log) goes to <state>/logs/<id>.log.
  const std::string log_path = log_file(spec.id);
  spec.stdout_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  spec.stderr_fd = spec.stdout_fd;
  auto start = [this, spec]() { return runtime_.start(spec); };
  auto handle = co_await on_pool(blocking_, std::move(start));
  if (spec.stdout_fd >= 0) ::close(spec.stdout_fd);
  if (!handle) {
    ::unlink(log_path.c_str());
    co_return tl::unexpected(handle.error());
  }
  // Remember the handle next to the sandbox, so a restarted server can reap a sandbox it never recorded.
  std::ofstream(fs::path(handle->sandbox_dir) / "handle.json") << runtime::to_json(*handle);

  const std::string ready_file = (fs::path(handle->sandbox_dir) / "run" / "ready").string();
  auto wait = [this, ready_file, h = *handle]() {
    return wait_for_agent(ready_file, settings_.ready_timeout,
                          [this, &h, alive = alive_]() { return alive->load() && runtime_.alive(h); });
  };
  if (auto ready = co_await on_pool(blocking_, std::move(wait)); !ready) {
    co_await destroy(*handle);
    co_return tl::unexpected(ready.error());
  }
  co_return Pooled{*handle};
}

asio::awaitable<void> SandboxManager::fill_pool(const TemplateEntry* entry) {
  if (filling_[entry]) co_return;
  filling_[entry] = true;
  auto alive = alive_;
  int failures = 0;
  while (*alive && pools_[entry].size() < settings_.pool_size && live_.size() < settings_.max_sandboxes) {
    auto booted = co_await boot(*entry);
    if (!*alive) {
      if (booted) co_await destroy(booted->handle);
      co_return;
    }
    if (!booted) {
      spdlog::error("warm pool for {}: {}", entry->info.name, booted.error().message);
      // Back off (up to a minute) rather than give up: the pool must refill once the cause is gone.
      asio::steady_timer backoff(executor_, std::chrono::seconds(std::min(60, 1 << std::min(failures++, 6))));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    failures = 0;
    pools_[entry].push_back(std::move(*booted));
  }
  filling_[entry] = false;
}

asio::awaitable<Result<store::SandboxRecord>> SandboxManager::create(CreateCommand command) {
  const TemplateEntry* entry = find_template(command.template_id);
  if (!entry) {
    co_return fail(ErrorCode::kInvalidArgument, "template '" + command.template_id + "' does not exist");
  }
  auto ttl = lifetime(command.timeout_seconds);
  if (!ttl) co_return tl::unexpected(ttl.error());
  if (live_.size() >= settings_.max_sandboxes) {
    co_return fail(ErrorCode::kResourceExhausted, "the server runs its maximum of " +
                                                      std::to_string(settings_.max_sandboxes) + " sandboxes");
  }

  std::optional<Pooled> pooled;
  if (auto& pool = pools_[entry]; !pool.empty()) {
    pooled = std::move(pool.front());
    pool.pop_front();
  }
  asio::co_spawn(executor_, fill_pool(entry), asio::detached);
  if (!pooled) {
    auto booted = co_await boot(*entry);
    if (!booted) {
      co_return fail(booted.error().code, "starting a sandbox failed: " + booted.error().message);
    }
    pooled = std::move(*booted);
  }

  auto live = std::make_shared<Live>(executor_);
  live->handle = pooled->handle;
  live->access_token = random_hex(24);
  Status initialised = co_await init_agent(live->handle.socket_path, command.env_vars, live->access_token);
  if (!initialised) {
    co_await destroy(live->handle);
    co_return fail(ErrorCode::kInternal, "initialising the sandbox failed: " + initialised.error().message);
  }

  store::SandboxRecord record;
  record.id = live->handle.id;
  record.template_id = entry->info.name;
  record.alias = command.template_id == entry->info.name ? "" : command.template_id;
  record.client_id = "cellblock";
  record.metadata = std::move(command.metadata);
  record.env_vars = std::move(command.env_vars);
  record.started_at = now_nanos();
  record.end_at = record.started_at + seconds_to_nanos(ttl->count());
  record.state = store::SandboxState::kRunning;
  record.envd_access_token = live->access_token;
  record.cpu_count = static_cast<std::int64_t>(settings_.limits.cpus);
  record.memory_mb = static_cast<std::int64_t>(settings_.limits.memory_bytes >> 20);
  record.disk_size_mb = static_cast<std::int64_t>(settings_.limits.disk_bytes >> 20);
  record.handle = runtime::to_json(live->handle);
  if (auto ok = store_.insert(record); !ok) {
    co_await destroy(live->handle);
    co_return tl::unexpected(ok.error());
  }
  live->end_at = record.end_at;
  live_[record.id] = live;
  arm_timer(live);
  co_return record;
}

void SandboxManager::arm_timer(const std::shared_ptr<Live>& live) {
  const std::int64_t left = live->end_at - now_nanos();
  live->timer.expires_after(std::chrono::nanoseconds(std::max<std::int64_t>(left, 0)));
  live->timer.async_wait(
      [this, alive = alive_, weak = std::weak_ptr<Live>(live)](boost::system::error_code ec) {
        auto live = weak.lock();
        if (ec || !*alive || !live) return;
        if (live->end_at > now_nanos()) {  // extended meanwhile
          arm_timer(live);
          return;
        }
        asio::co_spawn(executor_, kill(live->handle.id, "timeout"), asio::detached);
      });
}

Result<store::SandboxRecord> SandboxManager::get(const std::string& id) {
  auto record = store_.get(id);
  if (!record || record->state == store::SandboxState::kKilled) {
    return fail(ErrorCode::kNotFound, "sandbox \"" + id + "\" not found");
  }
  return record;
}

Result<store::SandboxPage> SandboxManager::list(const store::ListQuery& query) {
  return store_.list(query);
}

asio::awaitable<Status> SandboxManager::kill(const std::string& id, std::string reason) {
  auto it = live_.find(id);
  if (it == live_.end()) co_return fail(ErrorCode::kNotFound, "sandbox \"" + id + "\" not found");
  auto live = it->second;
  live_.erase(it);
  live->timer.cancel();
  live->abort->abort();  // open streams end abruptly, as when E2B kills a sandbox
  if (auto ok = store_.mark_killed(id, reason); !ok)
    spdlog::error("recording the kill of {}: {}", id, ok.error().message);
  co_await destroy(live->handle);
  spdlog::info("sandbox {} killed ({})", id, reason);
  co_return Status{};
}

asio::awaitable<void> SandboxManager::destroy(runtime::SandboxHandle handle) {
  auto work = [this, handle]() {
    if (auto ok = runtime_.cleanup(handle); !ok) return ok;
    return Status{};
  };
  if (auto ok = co_await on_pool(blocking_, std::move(work)); !ok) {
    spdlog::error("cleaning up sandbox {}: {}", handle.id, ok.error().message);
  }
  ::unlink(log_file(handle.id).c_str());
}

Status SandboxManager::set_timeout(const std::string& id, std::int64_t seconds) {
  auto it = live_.find(id);
  if (it == live_.end()) return fail(ErrorCode::kNotFound, "sandbox \"" + id + "\" not found");
  auto ttl = lifetime(seconds);
  if (!ttl) return tl::unexpected(ttl.error());
  auto& live = it->second;
  live->end_at = now_nanos() + seconds_to_nanos(ttl->count());
  if (auto ok = store_.update_end_at(id, live->end_at); !ok) return ok;
  arm_timer(live);
  return {};
}

Result<store::SandboxRecord> SandboxManager::connect(const std::string& id,
                                                     std::optional<std::int64_t> seconds) {
  auto it = live_.find(id);
  if (it == live_.end()) return fail(ErrorCode::kNotFound, "sandbox \"" + id + "\" not found");
  auto ttl = lifetime(seconds);
  if (!ttl) return tl::unexpected(ttl.error());
  auto& live = it->second;
  const std::int64_t wanted = now_nanos() + seconds_to_nanos(ttl->count());
  if (wanted > live->end_at) {  // only ever extended
    live->end_at = wanted;
    if (auto ok = store_.update_end_at(id, wanted); !ok) return tl::unexpected(ok.error());
    arm_timer(live);
  }
  return get(id);
}

std::optional<Route> SandboxManager::route(const std::string& id) const {
  auto it = live_.find(id);
  if (it == live_.end()) return std::nullopt;
  return Route{it->second->handle.socket_path, it->second->access_token, it->second->abort};
}

std::vector<std::pair<std::string, Route>> SandboxManager::routes() const {
  std::vector<std::pair<std::string, Route>> out;
  for (const auto& [id, live] : live_) {
    out.emplace_back(id, Route{live->handle.socket_path, live->access_token, live->abort});
  }
  return out;
}

Result<std::vector<Metric>> SandboxManager::metrics(const std::string& id,
                                                    std::optional<std::int64_t> start_unix,
                                                    std::optional<std::int64_t> end_unix) {
  auto it = live_.find(id);
  if (it == live_.end()) return fail(ErrorCode::kNotFound, "sandbox \"" + id + "\" not found");
  std::vector<Metric> out;
  for (const auto& metric : it->second->metrics) {
    const std::int64_t seconds = metric.unix_nanos / 1'000'000'000;
    if (start_unix && seconds < *start_unix) continue;
    if (end_unix && seconds > *end_unix) continue;
    out.push_back(metric);
  }
  return out;
}

// Samples every live sandbox's cgroup usage every 5 s (the first sample right away, clients poll for one).
asio::awaitable<void> SandboxManager::sample_metrics() {
  auto alive = alive_;
  while (*alive) {
    const std::int64_t now = now_nanos();
    for (auto& [id, live] : live_) {
      auto usage = runtime_.usage(live->handle);
      if (!usage) continue;
      Metric metric;
      metric.unix_nanos = now;
      metric.cpu_count = static_cast<std::uint32_t>(std::max(1.0, settings_.limits.cpus));
      if (live->last_sample > 0 && now > live->last_sample && usage->cpu_ns >= live->last_cpu_ns) {
        metric.cpu_used_pct = 100.0 * static_cast<double>(usage->cpu_ns - live->last_cpu_ns) /
                              static_cast<double>(now - live->last_sample) / metric.cpu_count;
      }
      live->last_cpu_ns = usage->cpu_ns;
      live->last_sample = now;
      metric.mem_used = usage->memory_bytes;
      metric.mem_total = settings_.limits.memory_bytes;
      metric.disk_used = usage->disk_bytes;
      metric.disk_total = settings_.limits.disk_bytes;
      live->metrics.push_back(metric);
      if (live->metrics.size() > kMetricsKept) live->metrics.pop_front();
    }
    sampler_->expires_after(std::chrono::seconds(5));
    auto [ec] = co_await sampler_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// After a restart: sandboxes the store believes alive are reattached when their PID 1 still runs (same pid
// and start time) and reaped otherwise; directories the store does not know (unclaimed pool sandboxes) are
// reaped.
asio::awaitable<void> SandboxManager::recover() {
  std::set<std::string> known;
  auto records = store_.list_alive();
  if (!records) {
    spdlog::error("recovery: {}", records.error().message);
    co_return;
  }
  for (auto& record : *records) {
    known.insert(record.id);
    auto handle = runtime::handle_from_json(record.handle);
    const bool running = handle && runtime_.alive(*handle) && record.end_at > now_nanos();
    if (!running) {
      store_.mark_killed(record.id, handle && runtime_.alive(*handle) ? "timeout" : "lost");
      if (handle) co_await destroy(*handle);
      spdlog::info("recovery: reaped sandbox {}", record.id);
      continue;
    }
    auto live = std::make_shared<Live>(executor_);
    live->handle = *handle;
    live->access_token = record.envd_access_token;
    live->end_at = record.end_at;
    live_[record.id] = live;
    arm_timer(live);
    spdlog::info("recovery: reattached sandbox {}", record.id);
  }
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(fs::path(settings_.state_dir) / "sandboxes", ec)) {
    const std::string id = dir.path().filename().string();
    if (known.count(id)) continue;
    std::ifstream in(dir.path() / "handle.json");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto handle = runtime::handle_from_json(text);
    if (handle) {
      co_await destroy(*handle);
    } else {
      fs::remove_all(dir.path(), ec);
    }
    spdlog::info("recovery: removed unclaimed sandbox {}", id);
  }
}

}  // namespace cellblock::sandbox
