#pragma once
// The polling watcher API (CreateWatcher / GetWatcherEvents / RemoveWatcher, used by the Python sync SDK):
// each watcher buffers its events until they are taken.
//
// Threading: one executor. Ownership: the registry owns its watchers; destroying it (or stop()) ends them
// all.

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "agent/fs/dir_watcher.h"
#include "common/error.h"

namespace cellblock::agent {

class WatcherRegistry {
 public:
  // Oldest events are dropped beyond this, so an abandoned watcher cannot grow without bound.
  static constexpr std::size_t kMaxBufferedEvents = 10'000;

  explicit WatcherRegistry(boost::asio::any_io_executor executor);
  ~WatcherRegistry();
  WatcherRegistry(const WatcherRegistry&) = delete;
  WatcherRegistry& operator=(const WatcherRegistry&) = delete;

  // Starts a watcher and returns its id. Errors as DirWatcher::create.
  Result<std::string> create(WatchOptions options);
  // The events buffered since the last call. Unknown id → kNotFound.
  Result<std::vector<WatchEvent>> take_events(const std::string& id);
  // Unknown id → kNotFound.
  Status remove(const std::string& id);
  void stop();

 private:
  struct Slot {
    std::unique_ptr<DirWatcher> watcher;
    std::deque<WatchEvent> events;
  };
  static boost::asio::awaitable<void> pump(std::shared_ptr<Slot> slot);

  boost::asio::any_io_executor executor_;
  std::map<std::string, std::shared_ptr<Slot>> watchers_;
};

}  // namespace cellblock::agent
