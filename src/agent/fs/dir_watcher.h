#pragma once
// inotify-based directory watching for WatchDir and the polling watcher API (CreateWatcher & co). Event
// semantics follow fsnotify, which reference envd uses: created or moved-in → CREATE, modified → WRITE,
// deleted → REMOVE, moved-out or renamed-away → RENAME, attributes → CHMOD. A recursive watch watches a new
// directory as soon as it appears and reports what it already holds (fsnotify's recursive watches do too).
//
// Threading: one executor. Ownership: the caller owns the watcher; it must outlive a pending next().

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/json/object.hpp>

#include "agent/fs/entry_info.h"
#include "common/error.h"

namespace cellblock::agent {

enum class WatchEventType { kCreate, kWrite, kRemove, kRename, kChmod };

struct WatchEvent {
  std::string name;  // relative to the watched directory, e.g. "a.txt" or "sub/b.txt"
  WatchEventType type = WatchEventType::kCreate;
  std::optional<EntryInfo> entry;  // create / write / chmod with include_entry, when the entry still exists
};

struct WatchOptions {
  std::string path;  // absolute, resolved
  bool recursive = false;
  bool include_entry = false;
};

std::string_view event_type_name(WatchEventType type);  // "EVENT_TYPE_CREATE", …
// envd's FilesystemEvent: {"name", "type", "entry"?}.
boost::json::object to_json(const WatchEvent& event);

class DirWatcher {
 public:
  // Missing directory → kNotFound; not a directory → kInvalidArgument; inotify limits → kResourceExhausted.
  static Result<std::unique_ptr<DirWatcher>> create(const boost::asio::any_io_executor& executor,
                                                    WatchOptions options);
  ~DirWatcher();
  DirWatcher(const DirWatcher&) = delete;
  DirWatcher& operator=(const DirWatcher&) = delete;

  // The next event; nullopt once the watched directory is gone or close() was called (for good), or when the
  // awaiting coroutine is cancelled (no event is lost then).
  boost::asio::awaitable<std::optional<WatchEvent>> next();
  // Ends the watch; a pending next() returns nullopt.
  void close();

  const WatchOptions& options() const { return options_; }

 private:
  DirWatcher(const boost::asio::any_io_executor& executor, WatchOptions options, int inotify_fd);
  // How the entries found below a directory that starts being watched are reported.
  enum class Discovered { kNotReported, kCreated, kMovedIn };

  Status add_watch(const std::string& relative);
  std::vector<std::pair<std::string, struct stat>> children(const std::string& relative) const;
  void add_watch_tree(const std::string& relative, Discovered report);
  void remove_watch_tree(const std::string& relative);
  void parse(std::size_t size);
  void push_found(const std::string& relative, WatchEventType type);
  void push(WatchEvent event);
  std::string full_path(const std::string& relative) const;

  WatchOptions options_;
  boost::asio::posix::stream_descriptor inotify_;
  std::map<int, std::string> directories_;  // watch descriptor → directory relative to the root ("" = root)
  int root_watch_ = -1;
  std::deque<WatchEvent> pending_;
  std::vector<char> buffer_;
  bool closed_ = false;
  bool root_gone_ = false;
};

}  // namespace cellblock::agent
