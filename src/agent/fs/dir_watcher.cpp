#include "agent/fs/dir_watcher.h"

#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace cellblock::agent {

namespace asio = boost::asio;

namespace {

constexpr std::uint32_t kWatchMask = IN_CREATE | IN_MODIFY | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                     IN_ATTRIB | IN_DELETE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;

std::string join_relative(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

std::optional<WatchEventType> map_mask(std::uint32_t mask) {
  if (mask & (IN_CREATE | IN_MOVED_TO)) return WatchEventType::kCreate;
  if (mask & IN_MODIFY) return WatchEventType::kWrite;
  if (mask & IN_DELETE) return WatchEventType::kRemove;
  if (mask & IN_MOVED_FROM) return WatchEventType::kRename;
  if (mask & IN_ATTRIB) return WatchEventType::kChmod;
  return std::nullopt;
}

}  // namespace

std::string_view event_type_name(WatchEventType type) {
  switch (type) {
    case WatchEventType::kCreate:
      return "EVENT_TYPE_CREATE";
    case WatchEventType::kWrite:
      return "EVENT_TYPE_WRITE";
    case WatchEventType::kRemove:
      return "EVENT_TYPE_REMOVE";
    case WatchEventType::kRename:
      return "EVENT_TYPE_RENAME";
    case WatchEventType::kChmod:
      return "EVENT_TYPE_CHMOD";
  }
  return "EVENT_TYPE_UNSPECIFIED";
}

boost::json::object to_json(const WatchEvent& event) {
  boost::json::object json;
  json["name"] = event.name;
  json["type"] = event_type_name(event.type);
  if (event.entry) json["entry"] = to_json(*event.entry);
  return json;
}

Result<std::unique_ptr<DirWatcher>> DirWatcher::create(const asio::any_io_executor& executor,
                                                       WatchOptions options) {
  struct stat st {};
  if (::stat(options.path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return fail(ErrorCode::kNotFound, fmt::format("path '{}' does not exist", options.path));
    }
    return tl::unexpected(system_error(fmt::format("stat '{}'", options.path), errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("path '{}' is not a directory", options.path));
  }
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return tl::unexpected(system_error("create an inotify instance", errno));
  std::unique_ptr<DirWatcher> watcher(new DirWatcher(executor, std::move(options), fd));
  if (auto added = watcher->add_watch(""); !added) return tl::unexpected(added.error());
  if (watcher->options_.recursive) watcher->add_watch_tree("", Discovered::kNotReported);
  return watcher;
}

DirWatcher::DirWatcher(const asio::any_io_executor& executor, WatchOptions options, int inotify_fd)
    : options_(std::move(options)), inotify_(executor, inotify_fd), buffer_(64 * 1024) {}

DirWatcher::~DirWatcher() = default;

std::string DirWatcher::full_path(const std::string& relative) const {
  if (relative.empty()) return options_.path;
  return options_.path == "/" ? "/" + relative : options_.path + "/" + relative;
}

Status DirWatcher::add_watch(const std::string& relative) {
  std::string path = full_path(relative);
  // Subdirectories are never followed through symlinks; the root may be a symlink to a directory.
  std::uint32_t mask = relative.empty() ? kWatchMask : kWatchMask | IN_DONT_FOLLOW;
  int wd = ::inotify_add_watch(inotify_.native_handle(), path.c_str(), mask);
  if (wd < 0) {
    if (errno == ENOSPC) {
      return fail(
          ErrorCode::kResourceExhausted,
          fmt::format("cannot watch '{}': the inotify watch limit (fs.inotify.max_user_watches) is reached",
                      path));
    }
    return tl::unexpected(system_error(fmt::format("watch '{}'", path), errno));
  }
  directories_[wd] = relative;
  if (relative.empty()) root_watch_ = wd;
  return {};
}

// The entries of a watched directory, relative to the root, with what lstat says of them (vanished ones are
// left out).
std::vector<std::pair<std::string, struct stat>> DirWatcher::children(const std::string& relative) const {
  std::vector<std::pair<std::string, struct stat>> found;
  DIR* stream = ::opendir(full_path(relative).c_str());
  if (stream == nullptr) return found;
  while (dirent* entry = ::readdir(stream)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string child = join_relative(relative, name);
    struct stat st {};
    if (::lstat(full_path(child).c_str(), &st) == 0) found.emplace_back(std::move(child), st);
  }
  ::closedir(stream);
  return found;
}

// Watches every directory below `relative` (not `relative` itself when it is the root, which is watched
// already). A directory that appeared after the watch started may already hold entries whose own events
// came before its watch existed (an upload creates the directory and writes the file at once): with
// `report` each of them is announced as fsnotify's recursive watches do (CREATE), and for a directory that
// was created (not moved in), a file with content also as written (WRITE), which is what the lost events
// said.
void DirWatcher::add_watch_tree(const std::string& relative, Discovered report) {
  if (!relative.empty() && !add_watch(relative)) return;
  for (const auto& [child, st] : children(relative)) {
    if (report != Discovered::kNotReported) {
      push_found(child, WatchEventType::kCreate);
      if (report == Discovered::kCreated && S_ISREG(st.st_mode) && st.st_size > 0) {
        push_found(child, WatchEventType::kWrite);
      }
    }
    if (S_ISDIR(st.st_mode)) add_watch_tree(child, report);
  }
}

// A directory moved out of the tree: its watches would report events under a stale name.
void DirWatcher::remove_watch_tree(const std::string& relative) {
  std::string prefix = relative + "/";
  for (auto it = directories_.begin(); it != directories_.end();) {
    if (it->second == relative || it->second.starts_with(prefix)) {
      ::inotify_rm_watch(inotify_.native_handle(), it->first);
      it = directories_.erase(it);
    } else {
      ++it;
    }
  }
}

void DirWatcher::push(WatchEvent event) {
  // One write often arrives as several IN_MODIFY events; report it once.
  if (event.type == WatchEventType::kWrite && !pending_.empty() &&
      pending_.back().type == WatchEventType::kWrite && pending_.back().name == event.name) {
    pending_.back().entry = std::move(event.entry);
    return;
  }
  pending_.push_back(std::move(event));
}

void DirWatcher::parse(std::size_t size) {
  std::size_t offset = 0;
  while (offset + sizeof(inotify_event) <= size) {
    const auto* raw = reinterpret_cast<const inotify_event*>(buffer_.data() + offset);
    offset += sizeof(inotify_event) + raw->len;
    if (raw->mask & IN_IGNORED) {
      if (raw->wd == root_watch_) root_gone_ = true;
      directories_.erase(raw->wd);
      continue;
    }
    auto dir = directories_.find(raw->wd);
    if (dir == directories_.end() || raw->len == 0) continue;  // *_SELF events and stale watches
    auto type = map_mask(raw->mask);
    if (!type) continue;
    std::string relative = join_relative(dir->second, std::string_view(raw->name));  // name is NUL-padded

    push_found(relative, *type);
    if (options_.recursive && (raw->mask & IN_ISDIR)) {
      if (*type == WatchEventType::kCreate) {
        add_watch_tree(relative, (raw->mask & IN_CREATE) ? Discovered::kCreated : Discovered::kMovedIn);
      }
      if (*type == WatchEventType::kRename) remove_watch_tree(relative);
    }
  }
}

// Queues an event for `relative`, with its entry when asked for and the event describes one.
void DirWatcher::push_found(const std::string& relative, WatchEventType type) {
  WatchEvent event{relative, type, std::nullopt};
  bool describes_entry =
      type == WatchEventType::kCreate || type == WatchEventType::kWrite || type == WatchEventType::kChmod;
  if (options_.include_entry && describes_entry) {
    if (auto entry = stat_entry(full_path(relative))) event.entry = std::move(*entry);
  }
  push(std::move(event));
}

asio::awaitable<std::optional<WatchEvent>> DirWatcher::next() {
  for (;;) {
    if (!pending_.empty()) {
      WatchEvent event = std::move(pending_.front());
      pending_.pop_front();
      co_return event;
    }
    if (closed_ || root_gone_) co_return std::nullopt;
    auto [error, size] =
        co_await inotify_.async_read_some(asio::buffer(buffer_), asio::as_tuple(asio::use_awaitable));
    if (error) {
      auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) co_return std::nullopt;
      if (error != asio::error::operation_aborted) closed_ = true;
      continue;
    }
    parse(size);
  }
}

void DirWatcher::close() {
  closed_ = true;
  boost::system::error_code ignored;
  inotify_.cancel(ignored);
}

}  // namespace cellblock::agent
