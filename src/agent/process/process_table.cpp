#include "agent/process/process_table.h"

#include <signal.h>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/process/orphan_reaper.h"

namespace cellblock::agent {

namespace asio = boost::asio;

ProcessTable::ProcessTable(asio::any_io_executor executor, std::chrono::milliseconds retention)
    : executor_(std::move(executor)), retention_(retention) {
  ::signal(SIGPIPE, SIG_IGN);
}

ProcessTable::~ProcessTable() {
  *alive_ = false;
}

Result<std::shared_ptr<Process>> ProcessTable::start(StartSpec spec) {
  if (spec.tag) {
    if (auto existing = find_tag(*spec.tag)) {
      return fail(ErrorCode::kAlreadyExists,
                  fmt::format("a process with tag '{}' is already running", *spec.tag));
    }
  }
  auto process = Process::start(executor_, std::move(spec), sandbox_env_);
  if (!process) return tl::unexpected(process.error());
  processes_[(*process)->pid()] = *process;
  asio::co_spawn(executor_, forget_after_exit(*process), asio::detached);
  return process;
}

asio::awaitable<void> ProcessTable::forget_after_exit(std::shared_ptr<Process> process) {
  // Copies: the table may be destroyed while this waits.
  auto alive = alive_;
  auto executor = executor_;
  auto retention = retention_;
  co_await process->wait();
  asio::steady_timer timer(executor, retention);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!*alive) co_return;
  auto it = processes_.find(process->pid());
  if (it != processes_.end() && it->second == process) processes_.erase(it);
}

Result<std::shared_ptr<Process>> ProcessTable::find(std::uint32_t pid) const {
  auto it = processes_.find(pid);
  if (it == processes_.end())
    return fail(ErrorCode::kNotFound, fmt::format("process with pid {} not found", pid));
  return it->second;
}

Result<std::shared_ptr<Process>> ProcessTable::find_tag(const std::string& tag) const {
  for (const auto& [pid, process] : processes_) {
    if (process->tag() == tag && !process->finished()) return process;
  }
  return fail(ErrorCode::kNotFound, fmt::format("process with tag '{}' not found", tag));
}

std::vector<ProcessInfo> ProcessTable::list() const {
  std::vector<ProcessInfo> running;
  for (const auto& [pid, process] : processes_) {
    if (process->finished()) continue;
    running.push_back(ProcessInfo{process->config(), pid, process->tag()});
  }
  return running;
}

std::size_t ProcessTable::reap_orphans(const std::function<bool(pid_t)>& also_keep) const {
  return agent::reap_orphans([&](pid_t pid) {
    auto it = processes_.find(static_cast<std::uint32_t>(pid));
    if (it != processes_.end() && !it->second->finished()) return true;
    return also_keep && also_keep(pid);
  });
}

void ProcessTable::stop() {
  for (const auto& [pid, process] : processes_) {
    if (!process->finished()) (void)process->signal(SIGKILL);
  }
}

}  // namespace cellblock::agent
