#pragma once
// Boots sandboxes of a template up to a warm kernel, and tears them down. A boot starts the runtime (on the
// blocking pool: clone, mounts, cgroups) and then waits, without polling, for the agent to write its byte on
// the readiness pipe it inherited; end of file on that pipe means the agent died starting. stop() ends every
// wait at once and destroys what those boots started.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/abort_handle.h"
#include "common/async_primitives.h"
#include "common/error.h"
#include "net/sandbox_network.h"
#include "runtime/runtime.h"
#include "template/template_info.h"

namespace cellblock::sandbox {

namespace asio = boost::asio;

// A template the server can start sandboxes from, with the names clients may use for it.
struct TemplateEntry {
  templates::TemplateInfo info;
  std::vector<std::string> aliases;  // e.g. "code-interpreter-v1", "base"
};

// What a boot starts besides the template: a given id (a sandbox booted anew after a filesystem-only pause
// keeps its own; empty: a fresh one) on saved layers over the template's root file system.
struct BootTarget {
  std::string id;
  std::vector<std::string> layers;  // host directories, uppermost first
};

struct BootSettings {
  std::string state_dir;          // sandboxes live under <state_dir>/sandboxes/<id>, logs under logs/
  std::string agent_binary;       // bind-mounted read-only at /opt/cellblock/bin/cellblock-agent
  std::string kernel_pythonpath;  // the kernel start-up module, bind-mounted at /opt/cellblock/python
  runtime::Limits limits;
  std::chrono::milliseconds ready_timeout{90000};
};

class Booter {
 public:
  // `network`: every sandbox gets a link through it; null: sandboxes have their loopback only.
  Booter(asio::any_io_executor executor, asio::thread_pool& blocking, runtime::Runtime& runtime,
         BootSettings settings, net::SandboxNetwork* network);

  // A booted sandbox, its agent ready; no user, no token yet. kUnavailable once stopped.
  asio::awaitable<Result<runtime::SandboxHandle>> boot(const TemplateEntry& entry, BootTarget target);
  // A fresh sandbox of the template alone. Not a coroutine: g++ 12 mishandles a default argument's temporary
  // inside a co_await expression.
  asio::awaitable<Result<runtime::SandboxHandle>> boot(const TemplateEntry& entry) {
    return boot(entry, BootTarget{});
  }
  // Kills the sandbox's processes and removes its directory, cgroups, network link and (unless kept, for a
  // boot that failed) its log. Errors are logged.
  asio::awaitable<void> destroy(runtime::SandboxHandle handle, bool keep_log = false);
  // Ends the boots in flight (they destroy what they started) and waits for them.
  asio::awaitable<void> stop();

  std::string log_file(const std::string& id) const;

 private:
  asio::awaitable<Status> wait_until_ready(int ready_fd, const runtime::SandboxHandle& handle);

  asio::any_io_executor executor_;
  asio::thread_pool& blocking_;
  runtime::Runtime& runtime_;
  BootSettings settings_;
  net::SandboxNetwork* network_;
  Gate boots_;
  std::shared_ptr<AbortHandle> stopping_ = std::make_shared<AbortHandle>();
};

}  // namespace cellblock::sandbox
