#pragma once
// The code interpreter's contexts: one Jupyter kernel each, with its own state and working directory
// (e2b-api.md §7.5). The registry owns every kernel; kernels start, restart and stop on a blocking thread
// pool so the I/O thread never waits for a process. A caller that creates one context tends to create more
// (a chat app makes one per conversation) and a kernel takes about a second to start, so after the first
// create() of a Python context in the default cwd one spare kernel is kept started for the next.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/async_primitives.h"
#include "common/error.h"
#include "jupyter/kernel.h"

namespace cellblock::interpreter {

namespace asio = boost::asio;

struct InterpreterSettings {
  std::string default_cwd;  // where contexts start unless the caller names a cwd
  std::string runtime_dir;  // connection files and kernel logs
  std::vector<std::string> python_argv;
  std::vector<std::pair<std::string, std::string>> kernel_env;  // e.g. PYTHONPATH of the startup module
};

struct Context {
  Context(asio::any_io_executor executor, std::string id, std::string language, std::string cwd)
      : id(std::move(id)), language(std::move(language)), cwd(std::move(cwd)), lock(std::move(executor)) {}

  const std::string id;
  const std::string language;
  const std::string cwd;
  std::unique_ptr<jupyter::Kernel> kernel;  // null once the context is removed
  AsyncMutex lock;                          // executions in one context run one at a time
  std::uint64_t env_version = 0;            // the sandbox env version this kernel has
};

// Normalises a language name ("Python", " js" …); nullopt when no kernel for it exists in this sandbox.
std::optional<std::string> normalize_language(std::string_view language);

class ContextRegistry {
 public:
  ContextRegistry(asio::any_io_executor executor, asio::thread_pool& blocking, InterpreterSettings settings);
  ~ContextRegistry();

  // Starts the default Python context in the background (called once at agent start).
  void start_default();
  // Completes when the default Python context is ready (or failed to start).
  asio::awaitable<Result<std::shared_ptr<Context>>> default_context(const std::string& language);

  // A new context: the spare kernel when it fits (Python, default cwd), else a kernel started now.
  asio::awaitable<Result<std::shared_ptr<Context>>> create(const std::string& language, std::string cwd);
  std::shared_ptr<Context> find(std::string_view id) const;
  // True for the process of one of this registry's kernels (they are reaped by their own Kernel).
  bool owns_process(int pid) const;
  // Every context, oldest first.
  std::vector<std::shared_ptr<Context>> list() const;
  asio::awaitable<Status> restart(std::string_view id);
  asio::awaitable<Status> remove(std::string_view id);
  // Stops every kernel (agent shutdown).
  asio::awaitable<void> shutdown();

  const InterpreterSettings& settings() const { return settings_; }

  // The sandbox-level environment (E2B envVars). Kernels started before a change get it before their next
  // cell.
  void set_sandbox_env(std::map<std::string, std::string> env);
  const std::map<std::string, std::string>& sandbox_env() const { return sandbox_env_; }
  std::uint64_t env_version() const { return env_version_; }

 private:
  asio::awaitable<Result<std::shared_ptr<Context>>> start_context(std::string language, std::string cwd);
  asio::awaitable<Result<std::unique_ptr<jupyter::Kernel>>> start_kernel(std::string cwd);
  std::shared_ptr<Context> adopt(std::unique_ptr<jupyter::Kernel> kernel, std::string language,
                                 std::string cwd, std::uint64_t env_version);
  // The spare kernel when one is ready or about to be (waits for it), else null.
  asio::awaitable<std::unique_ptr<jupyter::Kernel>> take_spare();
  void start_spare();
  asio::awaitable<void> destroy_kernel(std::unique_ptr<jupyter::Kernel> kernel);

  asio::any_io_executor executor_;
  asio::thread_pool& blocking_;    // kernel starts and restarts
  asio::thread_pool stopping_{1};  // kernel shutdowns
  InterpreterSettings settings_;
  std::vector<std::shared_ptr<Context>> contexts_;                         // in creation order
  std::map<std::string, std::shared_ptr<Context>, std::less<>> defaults_;  // language → default context
  std::shared_ptr<AsyncEvent> default_ready_;
  std::map<std::string, std::string> sandbox_env_;
  std::uint64_t env_version_ = 0;
  Error default_error_;
  std::unique_ptr<jupyter::Kernel> spare_;  // Python, default cwd
  std::uint64_t spare_env_version_ = 0;
  std::shared_ptr<AsyncEvent> spare_ready_;  // unset while the spare starts
  bool shut_down_ = false;
};

}  // namespace cellblock::interpreter
