#pragma once
// All processes of one agent (envd's process map): start, look up by pid or tag, list. Exited processes stay
// findable for kRetention so that a Connect arriving just after the exit still gets start + end.
//
// Threading: one executor, like Process. Ownership: the table owns its processes; stop() kills the running
// ones.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agent/process/process.h"
#include "common/error.h"

namespace cellblock::agent {

struct ProcessInfo {
  ProcessConfig config;
  std::uint32_t pid = 0;
  std::optional<std::string> tag;
};

class ProcessTable {
 public:
  static constexpr std::chrono::seconds kDefaultRetention{5};

  // Also sets SIGPIPE to ignored for the whole agent: writing to the stdin of a child that closed it must
  // give EPIPE, not kill the agent. (Children get default dispositions back before exec.)
  explicit ProcessTable(boost::asio::any_io_executor executor,
                        std::chrono::milliseconds retention = kDefaultRetention);
  ~ProcessTable();
  ProcessTable(const ProcessTable&) = delete;
  ProcessTable& operator=(const ProcessTable&) = delete;

  // The sandbox-level environment (E2B's envVars, from the command line or POST /init); GET /envs serves it.
  void set_sandbox_env(std::map<std::string, std::string> env) { sandbox_env_ = std::move(env); }
  const std::map<std::string, std::string>& sandbox_env() const { return sandbox_env_; }

  // Errors: bad cwd / command not found → kInvalidArgument; a tag already used by a running process →
  // kAlreadyExists; spawn failures → system codes.
  Result<std::shared_ptr<Process>> start(StartSpec spec);
  // Running or recently exited. Unknown → kNotFound ("process with pid N not found").
  Result<std::shared_ptr<Process>> find(std::uint32_t pid) const;
  Result<std::shared_ptr<Process>> find_tag(const std::string& tag) const;
  // Running processes only.
  std::vector<ProcessInfo> list() const;

  // Reaps zombie children that are not this table's processes (see orphan_reaper.h); `also_keep` protects
  // children other parts of the agent wait for themselves (e.g. kernels). Call on SIGCHLD when the agent is
  // PID 1.
  std::size_t reap_orphans(const std::function<bool(pid_t)>& also_keep = {}) const;

  // SIGKILLs every running process group (agent shutdown).
  void stop();

 private:
  boost::asio::awaitable<void> forget_after_exit(std::shared_ptr<Process> process);

  boost::asio::any_io_executor executor_;
  std::chrono::milliseconds retention_;
  std::map<std::string, std::string> sandbox_env_;
  std::map<std::uint32_t, std::shared_ptr<Process>> processes_;
  // Lets the retention coroutines notice that the table is gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cellblock::agent
