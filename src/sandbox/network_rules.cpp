// A sandbox's egress rules: applied to its link when it is claimed, booted anew from disk or reattached
// after a restart, and replaced by PUT /sandboxes/{id}/network. The stored configuration (the record's
// `network` JSON) is the truth; the firewall follows it.
#include <spdlog/spdlog.h>

#include "sandbox/claimed.h"

namespace cellblock::sandbox {

Status SandboxManager::connect_network(const runtime::SandboxHandle& handle,
                                       const net::NetworkConfig& config) {
  if (!network_ || !handle.network) return {};
  return network_->apply(handle.id, *handle.network, config.egress);
}

Status SandboxManager::connect_network(const runtime::SandboxHandle& handle, const std::string& stored) {
  if (stored.empty()) return connect_network(handle, net::NetworkConfig{});
  auto config = net::from_json(stored);
  if (!config) return tl::unexpected(config.error());
  return connect_network(handle, *config);
}

asio::awaitable<Status> SandboxManager::update_network(const std::string& id, net::NetworkUpdate update) {
  auto sandbox = find(id);
  if (!sandbox) co_return tl::unexpected(sandbox.error());
  auto guard = co_await (*sandbox)->lock.lock();
  if ((*sandbox)->phase != Phase::kRunning) co_return tl::unexpected(sandbox_not_found(id));
  if (!network_) {
    co_return fail(
        ErrorCode::kUnimplemented,
        "sandbox networking is off on this server (--sandbox-network off): sandboxes have no network "
        "to update");
  }
  auto record = store_.get(id);
  if (!record) co_return tl::unexpected(record.error());
  net::NetworkConfig config;
  if (!record->network.empty()) {
    auto stored = net::from_json(record->network);
    if (!stored) co_return tl::unexpected(stored.error());
    config = std::move(*stored);
  }
  net::apply_update(config, std::move(update));
  // Stored first: what the firewall enforces is never ahead of what a restart would restore.
  if (Status saved = store_.update_network(id, net::to_json(config)); !saved) co_return saved;
  if (Status applied = connect_network((*sandbox)->handle, config); !applied) {
    spdlog::error("sandbox {}: applying its new egress rules: {}", id, applied.error().message);
    (void)store_.update_network(id, record->network);
    co_return fail(ErrorCode::kInternal, "Error updating sandbox network config: " + applied.error().message);
  }
  spdlog::info("sandbox {}: egress rules replaced", id);
  co_return Status{};
}

}  // namespace cellblock::sandbox
