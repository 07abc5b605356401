#pragma once
// envd (E2B port 49983): REST (/health, /files, /envs, /metrics) and the Connect services process.Process and
// filesystem.Filesystem. Owns the process table and the watchers of this agent.

#include <memory>

#include "agent/envd/access.h"
#include "agent/envd/files_handler.h"
#include "agent/envd/filesystem_rpc.h"
#include "agent/envd/process_rpc.h"
#include "agent/fs/watcher_registry.h"
#include "agent/process/process_table.h"
#include "http/exchange.h"

namespace cellblock::agent {

class EnvdService {
 public:
  // Called when POST /init changes the sandbox-level environment (the interpreter applies it to its kernels).
  using EnvListener = std::function<void(const std::map<std::string, std::string>&)>;
  // Called when POST /init sets or lifts the sandbox's deadline (unix ms; nullopt: none).
  using DeadlineListener = std::function<void(std::optional<std::int64_t>)>;

  EnvdService(asio::any_io_executor executor, AccessPolicy& access, const AgentUsers& users,
              std::map<std::string, std::string> sandbox_env, EnvListener on_env_change = {},
              DeadlineListener on_deadline = {});
  ~EnvdService();

  asio::awaitable<void> handle(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);
  ProcessTable& processes() { return processes_; }
  // Kills every process and ends every watcher (agent shutdown).
  void stop();

 private:
  asio::awaitable<void> metrics(http::ResponseWriter& writer);
  asio::awaitable<void> init(http::Request& request, http::BodyReader& body, http::ResponseWriter& writer);

  AccessPolicy& access_;
  EnvListener on_env_change_;
  DeadlineListener on_deadline_;
  ProcessTable processes_;
  WatcherRegistry watchers_;
  FilesHandler files_;
  ProcessRpc process_rpc_;
  FilesystemRpc filesystem_rpc_;
};

}  // namespace cellblock::agent
