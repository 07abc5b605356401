#include "agent/interpreter/context_registry.h"

#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/blocking_call.h"
#include "common/encoding.h"

namespace cellblock::interpreter {

std::optional<std::string> normalize_language(std::string_view language) {
  std::string name;
  for (char c : language) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  if (name.empty() || name == "python" || name == "python3") return std::string("python");
  return std::nullopt;
}

ContextRegistry::ContextRegistry(asio::any_io_executor executor, asio::thread_pool& blocking,
                                 InterpreterSettings settings)
    : executor_(std::move(executor)), blocking_(blocking), settings_(std::move(settings)) {}

ContextRegistry::~ContextRegistry() = default;

void ContextRegistry::start_default() {
  default_ready_ = std::make_shared<AsyncEvent>(executor_);
  asio::co_spawn(
      executor_,
      [this, ready = default_ready_]() -> asio::awaitable<void> {
        auto context = co_await start_context("python", settings_.default_cwd);
        if (context) {
          defaults_["python"] = *context;
          spdlog::info("default python context {} ready", (*context)->id);
        } else {
          default_error_ = context.error();
          spdlog::error("default python context failed to start: {}", context.error().message);
        }
        ready->set();
      },
      asio::detached);
}

asio::awaitable<Result<std::shared_ptr<Context>>> ContextRegistry::default_context(
    const std::string& language) {
  if (default_ready_) {
    auto ready = default_ready_;
    co_await ready->wait();
  }
  if (auto it = defaults_.find(language); it != defaults_.end() && it->second->kernel) co_return it->second;
  // No default yet (it failed to start, or it was removed): start one now.
  auto context = co_await start_context(language, settings_.default_cwd);
  if (!context) co_return context;
  if (auto it = defaults_.find(language); it != defaults_.end() && it->second->kernel) {
    // Another request won the race; keep one default.
    co_await remove((*context)->id);
    co_return it->second;
  }
  defaults_[language] = *context;
  co_return context;
}

asio::awaitable<Result<std::shared_ptr<Context>>> ContextRegistry::create(const std::string& language,
                                                                          std::string cwd) {
  if (cwd.empty()) cwd = settings_.default_cwd;
  if (language != "python" || cwd != settings_.default_cwd) co_return co_await start_context(language, cwd);
  std::unique_ptr<jupyter::Kernel> spare = co_await take_spare();
  Result<std::shared_ptr<Context>> context = fail(ErrorCode::kInternal, "no kernel");
  if (spare) {
    // It may predate a change of the sandbox environment: the context's first cell applies it then.
    context = adopt(std::move(spare), language, std::move(cwd), spare_env_version_);
  } else {
    context = co_await start_context(language, std::move(cwd));
  }
  if (context) start_spare();
  co_return context;
}

asio::awaitable<std::unique_ptr<jupyter::Kernel>> ContextRegistry::take_spare() {
  if (spare_ready_ && !spare_ready_->is_set()) {
    auto ready = spare_ready_;
    co_await ready->wait();  // it is about to be ready: sooner than starting another beside it
  }
  co_return std::move(spare_);
}

void ContextRegistry::start_spare() {
  if (shut_down_ || spare_ || (spare_ready_ && !spare_ready_->is_set())) return;
  spare_ready_ = std::make_shared<AsyncEvent>(executor_);
  asio::co_spawn(
      executor_,
      [this, ready = spare_ready_]() -> asio::awaitable<void> {
        const std::uint64_t env_version = env_version_;
        auto kernel = co_await start_kernel(settings_.default_cwd);
        if (!kernel) {
          spdlog::warn("the spare python kernel failed to start: {}", kernel.error().message);
        } else if (shut_down_) {
          co_await destroy_kernel(std::move(*kernel));
        } else {
          spare_ = std::move(*kernel);
          spare_env_version_ = env_version;
        }
        ready->set();
      },
      asio::detached);
}

asio::awaitable<Result<std::shared_ptr<Context>>> ContextRegistry::start_context(std::string language,
                                                                                 std::string cwd) {
  const std::uint64_t env_version = env_version_;
  auto kernel = co_await start_kernel(cwd);
  if (!kernel) {
    co_return fail(kernel.error().code,
                   "starting the " + language + " kernel failed: " + kernel.error().message);
  }
  co_return adopt(std::move(*kernel), std::move(language), std::move(cwd), env_version);
}

asio::awaitable<Result<std::unique_ptr<jupyter::Kernel>>> ContextRegistry::start_kernel(std::string cwd) {
  jupyter::KernelOptions options;
  options.argv = settings_.python_argv;
  options.env = settings_.kernel_env;
  for (const auto& [key, value] : sandbox_env_) options.env.emplace_back(key, value);
  options.cwd = std::move(cwd);
  options.runtime_dir = settings_.runtime_dir;
  // Many sandboxes may boot their kernels at once on a small host: wait long rather than fail.
  options.ready_timeout = std::chrono::minutes(3);
  // g++ 12 double-frees a lambda with non-trivial captures built inside a co_await expression: build it
  // first.
  auto start = [options = std::move(options)]() { return jupyter::Kernel::start(options); };
  co_return co_await on_pool(blocking_, std::move(start));
}

std::shared_ptr<Context> ContextRegistry::adopt(std::unique_ptr<jupyter::Kernel> kernel, std::string language,
                                                std::string cwd, std::uint64_t env_version) {
  auto context = std::make_shared<Context>(executor_, random_id(20), std::move(language), std::move(cwd));
  context->kernel = std::move(kernel);
  context->env_version = env_version;
  contexts_.push_back(context);
  return context;
}

std::shared_ptr<Context> ContextRegistry::find(std::string_view id) const {
  for (const auto& context : contexts_) {
    if (context->id == id) return context;
  }
  return nullptr;
}

std::vector<std::shared_ptr<Context>> ContextRegistry::list() const {
  return contexts_;
}

bool ContextRegistry::owns_process(int pid) const {
  if (spare_ && spare_->pid() == pid) return true;
  for (const auto& context : contexts_) {
    if (context->kernel && context->kernel->pid() == pid) return true;
  }
  return false;
}

void ContextRegistry::set_sandbox_env(std::map<std::string, std::string> env) {
  sandbox_env_ = std::move(env);
  ++env_version_;
}

asio::awaitable<Status> ContextRegistry::restart(std::string_view id) {
  auto context = find(id);
  if (!context || !context->kernel)
    co_return fail(ErrorCode::kNotFound, "context " + std::string(id) + " not found");
  // A running cell ends with ContextRestarting; Kernel::restart blocks until the new kernel is ready.
  jupyter::Kernel* kernel = context->kernel.get();
  Status restarted = co_await on_pool(blocking_, [kernel]() { return kernel->restart(); });
  context->env_version = 0;  // the new process has the environment the kernel first started with
  co_return restarted;
}

asio::awaitable<Status> ContextRegistry::remove(std::string_view id) {
  auto it = std::find_if(contexts_.begin(), contexts_.end(), [&](const auto& c) { return c->id == id; });
  if (it == contexts_.end())
    co_return fail(ErrorCode::kNotFound, "context " + std::string(id) + " not found");
  auto context = *it;
  contexts_.erase(it);
  for (auto d = defaults_.begin(); d != defaults_.end(); ++d) {
    if (d->second == context) {
      defaults_.erase(d);
      break;
    }
  }
  if (context->kernel) context->kernel->interrupt();
  auto guard = co_await context->lock.lock();  // wait for the running cell (if any) to end
  co_await destroy_kernel(std::move(context->kernel));
  co_return Status{};
}

asio::awaitable<void> ContextRegistry::destroy_kernel(std::unique_ptr<jupyter::Kernel> kernel) {
  if (!kernel) co_return;
  // The destructor waits for the kernel process to exit (up to 2 s): run it on its own thread, so that
  // kernels being shut down (a chat app evicting its least recently used ones) never delay a kernel start.
  std::shared_ptr<jupyter::Kernel> shared(std::move(kernel));
  auto destroy = [doomed = std::move(shared)]() mutable {
    doomed.reset();
    return 0;
  };
  co_await on_pool(stopping_, std::move(destroy));
}

asio::awaitable<void> ContextRegistry::shutdown() {
  shut_down_ = true;
  co_await destroy_kernel(std::move(spare_));
  auto contexts = std::move(contexts_);
  defaults_.clear();
  for (auto& context : contexts) co_await destroy_kernel(std::move(context->kernel));
}

}  // namespace cellblock::interpreter
