#pragma once
// Internal to src/sandbox: what the manager knows of one claimed sandbox (running, paused, or on its way).

#include <optional>
#include <string>
#include <string_view>

#include "common/file_signature.h"
#include "sandbox/sandbox_manager.h"

namespace cellblock::sandbox {

// E2B's 404 for an unknown, killed or foreign sandbox.
Error sandbox_not_found(std::string_view id);
// The 429 of a create or resume beyond --max-sandboxes.
Error capacity_reached(std::size_t limit);

struct SandboxManager::Claimed {
  explicit Claimed(asio::any_io_executor executor) : timer(executor), lock(executor) {}

  std::string id;
  runtime::SandboxHandle handle;
  Phase phase = Phase::kPooled;
  std::string access_token;
  std::int64_t started_at = 0;       // unix ns: the start of the current run
  std::int64_t end_at = 0;           // unix ns: the timeout (a paused sandbox: when it paused)
  std::int64_t timeout_seconds = 0;  // the lifetime asked at create
  store::LifecyclePolicy lifecycle;
  const TemplateEntry* base = nullptr;  // the template under its layers
  std::vector<std::string> layers;      // saved layers it runs on (ids, uppermost first)
  net::IngressOptions ingress;          // who may send it traffic, and how it arrives
  std::optional<Capacity::Slot> slot;   // none while paused on disk
  asio::steady_timer timer;
  AsyncMutex lock;  // one lifecycle operation at a time
  std::shared_ptr<AbortHandle> abort = std::make_shared<AbortHandle>();
  MetricsSeries metrics;

  Route route() const {
    Route route{handle.socket_path, access_token, abort};
    if (!ingress.allow_public_traffic) route.traffic_token = traffic_access_token(id, access_token);
    route.mask_request_host = ingress.mask_request_host;
    return route;
  }
  // What the agent enforces by itself: nothing for a sandbox that pauses at its timeout (only the server can
  // pause it) or is not running; else the end plus the grace.
  std::optional<std::int64_t> agent_deadline_ms(std::chrono::seconds grace) const {
    if (lifecycle.pause_on_timeout || paused(phase) || phase == Phase::kPausing) return std::nullopt;
    return (end_at + std::chrono::duration_cast<std::chrono::nanoseconds>(grace).count()) / 1'000'000;
  }
};

}  // namespace cellblock::sandbox
