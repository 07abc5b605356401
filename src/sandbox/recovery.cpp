// After a restart of the server: the sandboxes the store believes alive are reattached when their PID 1 still
// runs (same pid and start time): running ones with their timer (one already past its end meets its timeout
// now), paused ones still frozen. The rest are reaped and recorded as lost, and so is a record whose handle
// cannot be read. Directories under sandboxes/ that no record names (unclaimed pool sandboxes) are removed.
//
// A sandbox paused with its memory does not survive a reboot of the host (its processes are gone): it is
// recorded as killed with the reason "lost: the host restarted while it was paused", never resumed empty. A
// sandbox paused on disk has no process to find: it is reattached as it is (and a process a server that died
// during its pause left behind is removed).
#include <filesystem>
#include <fstream>
#include <set>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "common/blocking_call.h"
#include "common/encoding.h"
#include "runtime/handle_json.h"
#include "sandbox/claimed.h"

namespace cellblock::sandbox {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

std::shared_ptr<SandboxManager::Claimed> SandboxManager::adopt(const store::SandboxRecord& record,
                                                               runtime::SandboxHandle handle, Phase phase) {
  auto sandbox = std::make_shared<Claimed>(executor_);
  sandbox->id = record.id;
  sandbox->handle = std::move(handle);
  sandbox->phase = phase;
  sandbox->access_token = record.envd_access_token;
  sandbox->started_at = record.started_at;
  sandbox->end_at = record.end_at;
  sandbox->timeout_seconds = record.timeout_seconds;
  sandbox->lifecycle = record.lifecycle;
  sandbox->base = find_template(record.base_template_id());
  sandbox->layers = record.layers;
  if (!record.network.empty()) {
    if (auto network = net::from_json(record.network)) sandbox->ingress = network->ingress;
  }
  if (phase == Phase::kPausedOnDisk) {
    claimed_[record.id] = sandbox;
    return sandbox;
  }
  sandbox->slot = capacity_.reserve();
  if (!sandbox->slot) spdlog::warn("recovery: sandbox {} is beyond --max-sandboxes; it is kept", record.id);
  // Its link is still there; the firewall was rebuilt empty when this server started.
  if (network_ && sandbox->handle.network) {
    Status connected = network_->adopt(record.id, *sandbox->handle.network);
    if (connected) connected = connect_network(sandbox->handle, record.network);
    if (!connected) spdlog::error("recovery: sandbox {}'s network: {}", record.id, connected.error().message);
  }
  claimed_[record.id] = sandbox;
  return sandbox;
}

asio::awaitable<void> SandboxManager::recover() {
  const fs::path sandboxes_dir = fs::path(settings_.boot.state_dir) / "sandboxes";
  auto records = store_.list_alive();
  if (!records) {
    spdlog::error("recovery: {}", records.error().message);
    co_return;
  }
  std::set<std::string> known;
  for (auto& record : *records) {
    known.insert(record.id);
    const bool paused = record.state == store::SandboxState::kPaused;
    if (paused && record.handle.empty()) {
      if (fs::exists(sandboxes_dir / record.id)) known.erase(record.id);  // its old process: removed below
      if (!find_template(record.base_template_id())) {
        (void)store_.mark_killed(record.id, "lost: its template is gone");
        spdlog::info("recovery: sandbox {} lost: its template is gone", record.id);
        continue;
      }
      adopt(record, {}, Phase::kPausedOnDisk);
      spdlog::info("recovery: reattached sandbox {} paused on disk", record.id);
      continue;
    }
    auto handle = runtime::handle_from_json(record.handle);
    if (!handle || !runtime_.alive(*handle)) {
      const char* reason = !handle  ? "lost: its runtime handle could not be read"
                           : paused ? "lost: the host restarted while it was paused"
                                    : "lost";
      (void)store_.mark_killed(record.id, reason);
      runtime::SandboxHandle doomed =
          handle ? *handle : runtime_.handle_for(record.id, (sandboxes_dir / record.id).string());
      co_await booter_.destroy(std::move(doomed));
      spdlog::info("recovery: sandbox {} {}", record.id, reason);
      continue;
    }
    if (paused) {
      adopt(record, *handle, Phase::kPaused);
      spdlog::info("recovery: reattached paused sandbox {}", record.id);
      continue;
    }
    // A server that died while pausing may have left it frozen with its own deadline lifted.
    auto thaw = [this, h = *handle]() { return runtime_.thaw(h); };
    if (Status thawed = co_await on_pool(blocking_, thaw); !thawed) {
      spdlog::warn("recovery: sandbox {}: {}", record.id, thawed.error().message);
    }
    auto sandbox = adopt(record, *handle, Phase::kRunning);
    spdlog::info("recovery: reattached sandbox {}", record.id);
    if (record.end_at <= unix_nanos_now()) {
      co_await expire(record.id);  // past its end while the server was down: its timeout (kill or pause) now
      continue;
    }
    co_await push_deadline(*sandbox);
    arm_timer(sandbox);
  }
  std::error_code ec;
  for (const auto& dir : fs::directory_iterator(sandboxes_dir, ec)) {
    const std::string id = dir.path().filename().string();
    if (known.count(id)) continue;
    auto handle = runtime::handle_from_json(read_text(dir.path() / "handle.json"));
    runtime::SandboxHandle doomed = handle ? *handle : runtime_.handle_for(id, dir.path().string());
    co_await booter_.destroy(std::move(doomed));
    spdlog::info("recovery: removed unclaimed sandbox {}", id);
  }
}

}  // namespace cellblock::sandbox
