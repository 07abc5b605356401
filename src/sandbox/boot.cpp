#include "sandbox/boot.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/agent_protocol.h"
#include "common/blocking_call.h"
#include "common/encoding.h"
#include "common/unique_fd.h"
#include "runtime/handle_json.h"

namespace cellblock::sandbox {
namespace {

namespace fs = std::filesystem;
using namespace asio::experimental::awaitable_operators;

// The agent as PID 1: both services on one Unix socket in the run/ directory the host can reach.
std::vector<std::string> agent_argv(const templates::TemplateInfo& info, int ready_fd) {
  std::string workdir = info.workdir.empty() || info.workdir == "/" ? "/home/user" : info.workdir;
  return {"/opt/cellblock/bin/cellblock-agent",
          "--listen",
          "",
          "--unix-socket",
          std::string(agent_protocol::kSocketInSandbox),
          std::string(agent_protocol::kReadyFdFlag),
          std::to_string(ready_fd),
          "--workdir",
          workdir,
          "--user",
          info.user,
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

Booter::Booter(asio::any_io_executor executor, asio::thread_pool& blocking, runtime::Runtime& runtime,
               BootSettings settings, net::SandboxNetwork* network)
    : executor_(executor),
      blocking_(blocking),
      runtime_(runtime),
      settings_(std::move(settings)),
      network_(network),
      boots_(executor) {}

std::string Booter::log_file(const std::string& id) const {
  return (fs::path(settings_.state_dir) / "logs" / (id + ".log")).string();
}

asio::awaitable<Result<runtime::SandboxHandle>> Booter::boot(const TemplateEntry& entry, BootTarget target) {
  auto pass = boots_.enter();
  if (!pass) co_return fail(ErrorCode::kUnavailable, "the server is stopping");
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
    co_return tl::unexpected(system_error("creating the readiness pipe", errno));
  UniqueFd ready_read(pipe_fds[0]);
  UniqueFd ready_write(pipe_fds[1]);

  runtime::SandboxSpec spec;
  spec.id = target.id.empty() ? random_id(20) : std::move(target.id);
  spec.rootfs = entry.info.rootfs.string();
  spec.layers = std::move(target.layers);
  spec.sandbox_dir = (fs::path(settings_.state_dir) / "sandboxes" / spec.id).string();
  spec.argv = agent_argv(entry.info, ready_write.get());
  spec.env = agent_env(entry.info);
  spec.binds.push_back({settings_.agent_binary, "/opt/cellblock/bin/cellblock-agent", true});
  if (!settings_.kernel_pythonpath.empty()) {
    spec.binds.push_back({settings_.kernel_pythonpath, "/opt/cellblock/python", true});
  }
  spec.limits = settings_.limits;
  spec.inherited_fds = {ready_write.get()};
  if (network_) {
    auto link = network_->lease(spec.id);
    if (!link) co_return tl::unexpected(link.error());
    spec.network = std::move(*link);
  }
  // The agent's own output (kernel start-up errors, its log) goes to <state>/logs/<id>.log.
  const std::string log_path = log_file(spec.id);
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  spec.stdout_fd = spec.stderr_fd = log.get();
  // g++ 12: a lambda (like a braced list) must not be a temporary inside a co_await expression.
  auto start = [this, &spec]() { return runtime_.start(spec); };
  auto handle = co_await on_pool(blocking_, std::move(start));
  ready_write.reset();  // the agent holds the only write end now: its exit is our end of file
  log.reset();
  if (!handle) {
    ::unlink(log_path.c_str());
    if (spec.network) {
      network_->release(
          spec.id, {spec.network->host_interface, spec.network->host_address, spec.network->sandbox_address});
    }
    co_return tl::unexpected(handle.error());
  }
  // Remember the handle next to the sandbox, so a restarted server can reap a sandbox it never recorded.
  std::ofstream(fs::path(handle->sandbox_dir) / "handle.json") << runtime::to_json(*handle);

  if (auto ready = co_await wait_until_ready(ready_read.release(), *handle); !ready) {
    co_await destroy(*handle, /*keep_log=*/ready.error().code != ErrorCode::kUnavailable);
    co_return tl::unexpected(ready.error());
  }
  // For operators and tests: a directory without this marker is a boot in flight.
  std::ofstream(fs::path(handle->sandbox_dir) / "ready");
  co_return *handle;
}

asio::awaitable<Status> Booter::wait_until_ready(int ready_fd, const runtime::SandboxHandle& handle) {
  asio::posix::stream_descriptor pipe(executor_, ready_fd);
  asio::steady_timer limit(executor_, settings_.ready_timeout);
  auto cut = stopping_->on_abort([&pipe, &limit]() {
    boost::system::error_code ignored;
    pipe.cancel(ignored);
    limit.cancel();
  });
  char byte = 0;
  auto outcome =
      co_await (pipe.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable)) ||
                limit.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (stopping_->aborted()) co_return fail(ErrorCode::kUnavailable, "the server is stopping");
  if (outcome.index() == 1) {
    co_return fail(ErrorCode::kDeadlineExceeded, "the sandbox's agent was not ready within " +
                                                     std::to_string(settings_.ready_timeout.count()) +
                                                     " ms (see " + log_file(handle.id) + ")");
  }
  auto [ec, n] = std::get<0>(outcome);
  if (ec || n != 1) {
    co_return fail(ErrorCode::kInternal,
                   "the sandbox's agent exited during start-up (see " + log_file(handle.id) + ")");
  }
  co_return Status{};
}

asio::awaitable<void> Booter::destroy(runtime::SandboxHandle handle, bool keep_log) {
  auto cleanup = [this, handle]() { return runtime_.cleanup(handle); };
  auto cleaned = co_await on_pool(blocking_, std::move(cleanup));
  if (!cleaned) spdlog::error("cleaning up sandbox {}: {}", handle.id, cleaned.error().message);
  // After the cleanup, which deleted the link: its addresses are free only once no interface holds them.
  if (network_ && handle.network && cleaned) network_->release(handle.id, *handle.network);
  if (!keep_log) ::unlink(log_file(handle.id).c_str());
}

asio::awaitable<void> Booter::stop() {
  stopping_->abort();
  co_await boots_.close();
}

}  // namespace cellblock::sandbox
