#include "agent/fs/watcher_registry.h"

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "common/encoding.h"

namespace cellblock::agent {

namespace asio = boost::asio;

namespace {
Error unknown_watcher(const std::string& id) {
  return Error{ErrorCode::kNotFound, fmt::format("watcher '{}' not found", id)};
}
}  // namespace

WatcherRegistry::WatcherRegistry(asio::any_io_executor executor) : executor_(std::move(executor)) {}

WatcherRegistry::~WatcherRegistry() {
  stop();
}

Result<std::string> WatcherRegistry::create(WatchOptions options) {
  auto watcher = DirWatcher::create(executor_, std::move(options));
  if (!watcher) return tl::unexpected(watcher.error());
  auto slot = std::make_shared<Slot>();
  slot->watcher = std::move(*watcher);
  std::string id = random_id(16);
  watchers_[id] = slot;
  asio::co_spawn(executor_, pump(slot), asio::detached);
  return id;
}

// Holds the slot (and so the watcher) until the watch ends.
asio::awaitable<void> WatcherRegistry::pump(std::shared_ptr<Slot> slot) {
  while (auto event = co_await slot->watcher->next()) {
    slot->events.push_back(std::move(*event));
    if (slot->events.size() > kMaxBufferedEvents) slot->events.pop_front();
  }
}

Result<std::vector<WatchEvent>> WatcherRegistry::take_events(const std::string& id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return tl::unexpected(unknown_watcher(id));
  std::vector<WatchEvent> events(std::make_move_iterator(it->second->events.begin()),
                                 std::make_move_iterator(it->second->events.end()));
  it->second->events.clear();
  return events;
}

Status WatcherRegistry::remove(const std::string& id) {
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return tl::unexpected(unknown_watcher(id));
  it->second->watcher->close();
  watchers_.erase(it);
  return {};
}

void WatcherRegistry::stop() {
  for (auto& [id, slot] : watchers_) slot->watcher->close();
  watchers_.clear();
}

}  // namespace cellblock::agent
