#pragma once
// Sandbox lifecycle: create (claiming from the warm pool when it can), timeouts, kill, connect, metrics and
// recovery after a restart of the server. The only part of the server that changes sandbox state; api/ turns
// requests into calls here and proxy/ asks it where a sandbox's agent listens.
//
// Threading: every method runs on the server's executor. Blocking runtime calls go to the thread pool.

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/error.h"
#include "http/proxy.h"
#include "runtime/runtime.h"
#include "store/sandbox_store.h"
#include "template/template_info.h"

namespace cellblock::sandbox {

namespace asio = boost::asio;

struct ManagerSettings {
  std::string state_dir;          // sandboxes live under <state_dir>/sandboxes/<id>
  std::string agent_binary;       // bind-mounted read-only at /opt/cellblock/bin/cellblock-agent
  std::string kernel_pythonpath;  // the kernel start-up module, bind-mounted at /opt/cellblock/python
  std::chrono::seconds default_timeout{300};
  std::chrono::seconds max_timeout{24 * 3600};
  std::size_t pool_size = 2;        // ready sandboxes kept per template
  std::size_t max_sandboxes = 100;  // running at once
  runtime::Limits limits;
  std::chrono::milliseconds ready_timeout{90000};
};

// A template the server can start sandboxes from, with the names clients may use for it.
struct TemplateEntry {
  templates::TemplateInfo info;
  std::vector<std::string> aliases;  // e.g. "code-interpreter-v1", "base"
};

struct CreateCommand {
  std::string template_id;
  std::optional<std::int64_t> timeout_seconds;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> env_vars;
};

struct Metric {
  std::int64_t unix_nanos = 0;
  double cpu_used_pct = 0;
  std::uint64_t mem_used = 0;
  std::uint64_t mem_total = 0;
  std::uint64_t disk_used = 0;
  std::uint64_t disk_total = 0;
  std::uint32_t cpu_count = 0;
};

// Where the proxy sends a sandbox's traffic.
struct Route {
  std::string socket_path;
  std::string access_token;
  std::shared_ptr<http::AbortHandle> abort;  // kill cuts every exchange holding it
};

class SandboxManager {
 public:
  SandboxManager(asio::any_io_executor executor, asio::thread_pool& blocking, runtime::Runtime& runtime,
                 store::SandboxStore& store, std::vector<TemplateEntry> templates, ManagerSettings settings);
  ~SandboxManager();

  // Reattaches sandboxes that survived a restart, reaps the rest, then starts filling the warm pools.
  asio::awaitable<void> start();
  // Stops the timers and the pool (sandboxes keep running: they are reattached at the next start), and kills
  // the unclaimed pool sandboxes.
  asio::awaitable<void> stop();

  asio::awaitable<Result<store::SandboxRecord>> create(CreateCommand command);
  Result<store::SandboxRecord> get(const std::string& id);
  Result<store::SandboxPage> list(const store::ListQuery& query);
  asio::awaitable<Status> kill(const std::string& id, std::string reason);
  Status set_timeout(const std::string& id, std::int64_t seconds);
  // Extends (never shortens) the lifetime; unknown or killed → kNotFound.
  Result<store::SandboxRecord> connect(const std::string& id, std::optional<std::int64_t> timeout_seconds);
  Result<std::vector<Metric>> metrics(const std::string& id, std::optional<std::int64_t> start_unix,
                                      std::optional<std::int64_t> end_unix);
  std::optional<Route> route(const std::string& id) const;
  // Every running sandbox's route (signed file URLs carry no sandbox id: the proxy checks signatures).
  std::vector<std::pair<std::string, Route>> routes() const;
  const std::vector<TemplateEntry>& templates() const { return templates_; }
  // Resolves an id or alias.
  const TemplateEntry* find_template(std::string_view name) const;

 private:
  struct Live;
  struct Pooled;

  asio::awaitable<Result<Pooled>> boot(const TemplateEntry& entry);
  asio::awaitable<Result<Pooled>> boot_once(const TemplateEntry& entry);
  asio::awaitable<void> fill_pool(const TemplateEntry* entry);
  void arm_timer(const std::shared_ptr<Live>& live);
  asio::awaitable<void> destroy(runtime::SandboxHandle handle);
  asio::awaitable<void> sample_metrics();
  asio::awaitable<void> recover();
  Result<std::chrono::seconds> lifetime(std::optional<std::int64_t> seconds) const;
  std::string log_file(const std::string& id) const;

  asio::any_io_executor executor_;
  asio::thread_pool& blocking_;
  runtime::Runtime& runtime_;
  store::SandboxStore& store_;
  std::vector<TemplateEntry> templates_;
  ManagerSettings settings_;
  std::map<std::string, std::shared_ptr<Live>, std::less<>> live_;
  std::map<const TemplateEntry*, std::deque<Pooled>> pools_;
  std::map<const TemplateEntry*, bool> filling_;
  // Read from pool threads too (a boot waiting for its agent gives up when the manager stops).
  std::shared_ptr<std::atomic<bool>> alive_ = std::make_shared<std::atomic<bool>>(true);
  std::size_t booting_ = 0;  // boots in flight; stop() waits for them
  std::unique_ptr<asio::steady_timer> sampler_;
};

}  // namespace cellblock::sandbox
