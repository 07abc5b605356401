// Filesystem service logic against real files in a temp directory.

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include "agent/fs/dir_watcher.h"
#include "agent/fs/fs_operations.h"
#include "agent/fs/path_resolve.h"
#include "agent/fs/watcher_registry.h"

namespace cellblock::agent {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

bool xattrs_supported(const fs::path& dir) {
  fs::path probe = dir / ".xattr-probe";
  write_file(probe, "");
  bool ok = ::setxattr(probe.c_str(), "user.e2b.probe", "1", 1, 0) == 0;
  fs::remove(probe);
  return ok;
}

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("agentfs-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    user_.name = "tester";
    user_.uid = ::geteuid();
    user_.gid = ::getegid();
    user_.home = "/home/tester";
    user_.workdir = root_.string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string p(const std::string& relative) const { return (root_ / relative).string(); }

  fs::path root_;
  UserSpec user_;
};

TEST_F(FsTest, ResolvePathExpandsAndNormalises) {
  UserSpec user = user_;
  user.workdir = "/work/dir";
  EXPECT_EQ(resolve_path("a.txt", user).value(), "/work/dir/a.txt");
  EXPECT_EQ(resolve_path("", user).value(), "/work/dir");
  EXPECT_EQ(resolve_path("~", user).value(), "/home/tester");
  EXPECT_EQ(resolve_path("~/x/./y/../z", user).value(), "/home/tester/x/z");
  EXPECT_EQ(resolve_path("/a//b/../../../c/", user).value(), "/c");
  EXPECT_EQ(resolve_path("../up", user).value(), "/work/up");
  EXPECT_EQ(resolve_path("/", user).value(), "/");
  EXPECT_EQ(resolve_path("~other/x", user).error().code, ErrorCode::kInvalidArgument);
  // A user other than the default one: relative paths from its home (envd), the empty path still the workdir.
  user.relative_base = user.home;
  EXPECT_EQ(resolve_path("rel", user).value(), "/home/tester/rel");
  EXPECT_EQ(resolve_path("", user).value(), "/work/dir");
  user.relative_base.clear();
  user.workdir.clear();
  EXPECT_EQ(resolve_path("rel", user).value(), "/home/tester/rel");
}

TEST_F(FsTest, StatDescribesFileDirectoryAndSymlink) {
  write_file(p("a.txt"), "hello");
  ::chmod(p("a.txt").c_str(), 0640);
  fs::create_directory(p("dir"));
  ::chmod(p("dir").c_str(), 0755);
  fs::create_symlink("a.txt", p("link"));

  auto file = stat_entry(p("a.txt"));
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->name, "a.txt");
  EXPECT_EQ(file->path, p("a.txt"));
  EXPECT_EQ(file->type, FileType::kFile);
  EXPECT_EQ(file->size, 5);
  EXPECT_EQ(file->mode, 0640u);
  EXPECT_EQ(file->permissions, "-rw-r-----");
  EXPECT_FALSE(file->symlink_target);

  boost::json::object json = to_json(*file);
  EXPECT_EQ(json.at("type").as_string(), "FILE_TYPE_FILE");
  EXPECT_EQ(json.at("size").as_string(), "5");  // int64 → JSON string
  EXPECT_EQ(json.at("mode").to_number<std::int64_t>(), 0640);
  EXPECT_EQ(json.at("permissions").as_string(), "-rw-r-----");
  EXPECT_EQ(json.at("path").as_string(), p("a.txt"));
  EXPECT_FALSE(json.contains("symlinkTarget"));
  EXPECT_TRUE(json.at("metadata").is_object());
  std::string modified(json.at("modifiedTime").as_string());
  EXPECT_EQ(modified.size(), std::string("2026-01-02T03:04:05.123456Z").size()) << modified;
  EXPECT_EQ(modified.back(), 'Z');
  if (::geteuid() == 0) {
    EXPECT_EQ(json.at("owner").as_string(), "root");
    EXPECT_EQ(json.at("group").as_string(), "root");
  }

  auto dir = stat_entry(p("dir"));
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->type, FileType::kDirectory);
  EXPECT_EQ(dir->permissions, "drwxr-xr-x");
  EXPECT_EQ(to_json(*dir).at("type").as_string(), "FILE_TYPE_DIRECTORY");

  auto link = stat_entry(p("link"));
  ASSERT_TRUE(link);
  EXPECT_EQ(link->type, FileType::kSymlink);
  EXPECT_EQ(link->permissions, "lrwxrwxrwx");
  // envd reports the target resolved to an absolute path, not the link's relative content.
  EXPECT_EQ(link->symlink_target, p("a.txt"));
  EXPECT_EQ(to_json(*link).at("symlinkTarget").as_string(), p("a.txt"));
  fs::create_symlink("link", p("link-to-link"));
  EXPECT_EQ(stat_entry(p("link-to-link"))->symlink_target, p("a.txt"));  // every link on the way resolved
  fs::create_symlink("nowhere", p("dangling"));
  EXPECT_EQ(stat_entry(p("dangling"))->symlink_target, p("dangling"));  // as envd: the link's own path

  auto missing = stat_entry(p("nope"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message, "path '" + p("nope") + "' does not exist");
}

TEST_F(FsTest, PermissionStringShowsSpecialBits) {
  EXPECT_EQ(permissions_string(S_IFREG | 04755), "-rwsr-xr-x");
  EXPECT_EQ(permissions_string(S_IFDIR | 01777), "drwxrwxrwt");
  EXPECT_EQ(permissions_string(S_IFREG | 02640), "-rw-r-S---");
}

TEST_F(FsTest, MakeDirCreatesParentsAndReportsConflicts) {
  auto made = make_dir(p("x/y/z"), user_);
  ASSERT_TRUE(made) << made.error().message;
  EXPECT_EQ(made->type, FileType::kDirectory);
  EXPECT_EQ(made->name, "z");
  EXPECT_TRUE(fs::is_directory(p("x/y/z")));

  auto again = make_dir(p("x/y"), user_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);

  write_file(p("file"), "x");
  auto over_file = make_dir(p("file"), user_);
  ASSERT_FALSE(over_file);
  EXPECT_EQ(over_file.error().code, ErrorCode::kInvalidArgument);
  auto under_file = make_dir(p("file/sub"), user_);
  ASSERT_FALSE(under_file);
  EXPECT_EQ(under_file.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(FsTest, MakeDirChownsNewDirectoriesToTheUserWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  UserSpec nobody = user_;
  nobody.uid = 65534;
  nobody.gid = 65534;
  ASSERT_TRUE(make_dir(p("owned/inner"), nobody));
  struct stat st {};
  ASSERT_EQ(::stat(p("owned/inner").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  ASSERT_EQ(::stat(p("owned").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0u);  // existing parents untouched
}

TEST_F(FsTest, MoveRenamesAndReturnsTheNewEntry) {
  write_file(p("from.txt"), "data");
  auto moved = move(p("from.txt"), p("new/dir/to.txt"), user_);
  ASSERT_TRUE(moved) << moved.error().message;
  EXPECT_EQ(moved->path, p("new/dir/to.txt"));
  EXPECT_EQ(moved->name, "to.txt");
  EXPECT_EQ(moved->size, 4);
  EXPECT_FALSE(fs::exists(p("from.txt")));

  auto missing = move(p("from.txt"), p("x.txt"), user_);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(FsTest, ListDirByDepthWithoutFollowingSymlinks) {
  fs::create_directories(p("d/a/deep"));
  write_file(p("d/b.txt"), "b");
  write_file(p("d/a/c.txt"), "c");
  write_file(p("d/a/deep/e.txt"), "e");
  fs::create_directories(p("elsewhere/hidden"));
  fs::create_directory_symlink(p("elsewhere"), p("d/zlink"));

  auto names = [](const std::vector<EntryInfo>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.path);
    return out;
  };
  auto depth1 = list_dir(p("d"), 1);
  ASSERT_TRUE(depth1) << depth1.error().message;
  EXPECT_EQ(names(*depth1), (std::vector<std::string>{p("d/a"), p("d/b.txt"), p("d/zlink")}));
  EXPECT_EQ((*depth1)[2].type, FileType::kSymlink);

  auto depth2 = list_dir(p("d"), 2);
  ASSERT_TRUE(depth2);
  EXPECT_EQ(names(*depth2),
            (std::vector<std::string>{p("d/a"), p("d/a/c.txt"), p("d/a/deep"), p("d/b.txt"), p("d/zlink")}));

  auto zero = list_dir(p("d"), 0);
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->size(), 3u);

  // A symlink to a directory as the listed path itself is followed.
  auto via_link = list_dir(p("d/zlink"), 1);
  ASSERT_TRUE(via_link);
  EXPECT_EQ(names(*via_link), (std::vector<std::string>{p("d/zlink/hidden")}));

  EXPECT_EQ(list_dir(p("none"), 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(list_dir(p("d/b.txt"), 1).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(FsTest, RemoveIsRecursiveAndDoesNotFollowSymlinks) {
  fs::create_directories(p("tree/sub/subsub"));
  write_file(p("tree/sub/subsub/f"), "x");
  fs::create_directories(p("keep"));
  write_file(p("keep/precious"), "x");
  fs::create_directory_symlink(p("keep"), p("tree/link-to-keep"));

  ASSERT_TRUE(remove_path(p("tree")));
  EXPECT_FALSE(fs::exists(p("tree")));
  EXPECT_TRUE(fs::exists(p("keep/precious")));

  write_file(p("single"), "x");
  ASSERT_TRUE(remove_path(p("single")));
  EXPECT_FALSE(fs::exists(p("single")));

  // A path that does not exist is already removed (envd's os.RemoveAll).
  EXPECT_TRUE(remove_path(p("tree")));
  EXPECT_TRUE(remove_path(p("no/such/parent")));
}

TEST_F(FsTest, MetadataRoundTripsThroughXattrsAndSurvivesRename) {
  if (!xattrs_supported(root_)) GTEST_SKIP() << "filesystem without user xattrs";
  write_file(p("m.txt"), "x");
  ASSERT_TRUE(set_metadata(p("m.txt"), {{"Owner", "me"}, {"purpose", "test run"}}));
  auto read = read_metadata(p("m.txt"));
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, (FileMetadata{{"owner", "me"}, {"purpose", "test run"}}));

  // Replaces: an unrelated xattr stays, old e2b keys go.
  ASSERT_EQ(::setxattr(p("m.txt").c_str(), "user.other", "v", 1, 0), 0);
  ASSERT_TRUE(set_metadata(p("m.txt"), {{"only", "one"}}));
  EXPECT_EQ(read_metadata(p("m.txt")).value(), (FileMetadata{{"only", "one"}}));
  char buffer[8];
  EXPECT_EQ(::getxattr(p("m.txt").c_str(), "user.other", buffer, sizeof buffer), 1);

  auto moved = move(p("m.txt"), p("renamed.txt"), user_);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->metadata, (FileMetadata{{"only", "one"}}));
  EXPECT_EQ(to_json(*moved).at("metadata").at("only").as_string(), "one");

  ASSERT_TRUE(set_metadata(p("renamed.txt"), {}));
  EXPECT_TRUE(read_metadata(p("renamed.txt")).value().empty());

  auto bad = set_metadata(p("renamed.txt"), {{"k", "caf\xc3\xa9"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(set_metadata(p("renamed.txt"), {{"", "v"}}).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(FsTest, MetadataOnSymlinkIsEmptyNotAnError) {
  write_file(p("t"), "x");
  fs::create_symlink("t", p("l"));
  auto read = read_metadata(p("l"));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_TRUE(read->empty());
}

// --- watching
// ---------------------------------------------------------------------------------------------------

class WatchTest : public FsTest {
 protected:
  template <class T>
  T run(asio::awaitable<T> work, std::chrono::seconds limit = 10s) {
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(io_, std::move(work), [&](std::exception_ptr e, T value) {
      error = e;
      if (!e) result = std::move(value);
      io_.stop();
    });
    io_.restart();
    io_.run_for(limit);
    if (error) std::rethrow_exception(error);
    if (!result) throw std::runtime_error("the test coroutine did not finish in time");
    return std::move(*result);
  }

  // Events until `done` says so (or nullopt).
  asio::awaitable<std::vector<WatchEvent>> read_until(
      DirWatcher& watcher, std::function<bool(const std::vector<WatchEvent>&)> done) {
    std::vector<WatchEvent> events;
    while (!done(events)) {
      auto event = co_await watcher.next();
      if (!event) break;
      events.push_back(std::move(*event));
    }
    co_return events;
  }

  static bool has(const std::vector<WatchEvent>& events, const std::string& name, WatchEventType type) {
    return std::any_of(events.begin(), events.end(),
                       [&](const auto& e) { return e.name == name && e.type == type; });
  }

  asio::io_context io_;
};

TEST_F(WatchTest, ReportsCreateWriteChmodRenameRemove) {
  auto watcher = DirWatcher::create(io_.get_executor(), WatchOptions{root_.string(), false, true});
  ASSERT_TRUE(watcher) << watcher.error().message;
  write_file(p("a.txt"), "hello");
  ::chmod(p("a.txt").c_str(), 0600);
  fs::rename(p("a.txt"), p("b.txt"));
  fs::remove(p("b.txt"));
  auto events =
      run(read_until(**watcher, [](const auto& e) { return has(e, "b.txt", WatchEventType::kRemove); }));

  std::vector<std::string> seen;
  for (const auto& e : events) seen.push_back(e.name + ":" + std::string(event_type_name(e.type)));
  EXPECT_EQ(seen, (std::vector<std::string>{"a.txt:EVENT_TYPE_CREATE", "a.txt:EVENT_TYPE_WRITE",
                                            "a.txt:EVENT_TYPE_CHMOD", "a.txt:EVENT_TYPE_RENAME",
                                            "b.txt:EVENT_TYPE_CREATE", "b.txt:EVENT_TYPE_REMOVE"}));
  // Entries only on create/write/chmod, and only while the file exists: here it was gone before the read.
  for (const auto& e : events) {
    if (e.type == WatchEventType::kRemove || e.type == WatchEventType::kRename) {
      EXPECT_FALSE(e.entry);
    }
  }
  boost::json::object json = to_json(events.front());
  EXPECT_EQ(json.at("name").as_string(), "a.txt");
  EXPECT_EQ(json.at("type").as_string(), "EVENT_TYPE_CREATE");
}

TEST_F(WatchTest, IncludesEntryWhenAsked) {
  auto watcher = DirWatcher::create(io_.get_executor(), WatchOptions{root_.string(), false, true});
  ASSERT_TRUE(watcher);
  auto events = run([&]() -> asio::awaitable<std::vector<WatchEvent>> {
    write_file(p("e.txt"), "12345");
    co_return co_await read_until(**watcher,
                                  [](const auto& e) { return has(e, "e.txt", WatchEventType::kWrite); });
  }());
  ASSERT_FALSE(events.empty());
  const WatchEvent& last = events.back();
  ASSERT_TRUE(last.entry);
  EXPECT_EQ(last.entry->path, p("e.txt"));
  EXPECT_EQ(last.entry->size, 5);
  EXPECT_EQ(to_json(last).at("entry").at("size").as_string(), "5");

  auto no_entries = DirWatcher::create(io_.get_executor(), WatchOptions{root_.string(), false, false});
  ASSERT_TRUE(no_entries);
  write_file(p("f.txt"), "x");
  auto plain =
      run(read_until(**no_entries, [](const auto& e) { return has(e, "f.txt", WatchEventType::kWrite); }));
  for (const auto& e : plain) EXPECT_FALSE(e.entry);
}

TEST_F(WatchTest, RecursiveSeesFilesInNewSubdirectories) {
  fs::create_directories(p("existing/inner"));
  auto watcher = DirWatcher::create(io_.get_executor(), WatchOptions{root_.string(), true, false});
  ASSERT_TRUE(watcher);
  auto events = run([&]() -> asio::awaitable<std::vector<WatchEvent>> {
    write_file(p("existing/inner/old.txt"), "x");
    fs::create_directory(p("fresh"));
    auto first = co_await read_until(**watcher,
                                     [](const auto& e) { return has(e, "fresh", WatchEventType::kCreate); });
    write_file(p("fresh/new.txt"), "y");
    auto second = co_await read_until(
        **watcher, [](const auto& e) { return has(e, "fresh/new.txt", WatchEventType::kWrite); });
    first.insert(first.end(), second.begin(), second.end());
    co_return first;
  }());
  EXPECT_TRUE(has(events, "existing/inner/old.txt", WatchEventType::kCreate));
  EXPECT_TRUE(has(events, "fresh", WatchEventType::kCreate));
  EXPECT_TRUE(has(events, "fresh/new.txt", WatchEventType::kCreate));
  EXPECT_TRUE(has(events, "fresh/new.txt", WatchEventType::kWrite));
}

TEST_F(WatchTest, RecursiveReportsWhatANewDirectoryAlreadyHolds) {
  fs::create_directories(p("outside/moved/sub"));
  write_file(p("outside/moved/sub/m.txt"), "m");
  fs::create_directories(p("watched"));
  auto watcher = DirWatcher::create(io_.get_executor(), WatchOptions{p("watched"), true, true});
  ASSERT_TRUE(watcher);
  // All of it happens before the watcher reads a single event, so the new directories are not watched yet
  // when their files are written (an upload creating its parents does exactly this).
  fs::create_directories(p("watched/late/deep"));
  write_file(p("watched/late/deep/f.txt"), "content");
  write_file(p("watched/late/empty.txt"), "");
  fs::rename(p("outside/moved"), p("watched/moved"));
  write_file(p("watched/marker"), "x");
  auto events =
      run(read_until(**watcher, [](const auto& e) { return has(e, "marker", WatchEventType::kCreate); }));
  EXPECT_TRUE(has(events, "late", WatchEventType::kCreate));
  EXPECT_TRUE(has(events, "late/deep", WatchEventType::kCreate));
  EXPECT_TRUE(has(events, "late/deep/f.txt", WatchEventType::kCreate));
  EXPECT_TRUE(has(events, "late/deep/f.txt", WatchEventType::kWrite));
  EXPECT_TRUE(has(events, "late/empty.txt", WatchEventType::kCreate));
  EXPECT_FALSE(has(events, "late/empty.txt", WatchEventType::kWrite));  // nothing was written into it
  // A directory moved in was not written here: its contents are announced as created only.
  EXPECT_TRUE(has(events, "moved/sub/m.txt", WatchEventType::kCreate));
  EXPECT_FALSE(has(events, "moved/sub/m.txt", WatchEventType::kWrite));
  for (const auto& e : events) {
    if (e.name == "late/deep/f.txt") {
      ASSERT_TRUE(e.entry);
      EXPECT_EQ(e.entry->size, 7);
    }
  }
}

TEST_F(WatchTest, NonRecursiveIgnoresSubdirectories) {
  fs::create_directories(p("sub"));
  auto watcher = DirWatcher::create(io_.get_executor(), WatchOptions{root_.string(), false, false});
  ASSERT_TRUE(watcher);
  write_file(p("sub/hidden.txt"), "x");
  write_file(p("marker"), "x");
  auto events =
      run(read_until(**watcher, [](const auto& e) { return has(e, "marker", WatchEventType::kCreate); }));
  for (const auto& e : events) EXPECT_EQ(e.name.find("hidden"), std::string::npos) << e.name;
}

TEST_F(WatchTest, ErrorsAndEndOnRemovedDirectory) {
  EXPECT_EQ(DirWatcher::create(io_.get_executor(), WatchOptions{p("nope"), false, false}).error().code,
            ErrorCode::kNotFound);
  write_file(p("file"), "x");
  EXPECT_EQ(DirWatcher::create(io_.get_executor(), WatchOptions{p("file"), false, false}).error().code,
            ErrorCode::kInvalidArgument);

  fs::create_directories(p("doomed"));
  auto watcher = DirWatcher::create(io_.get_executor(), WatchOptions{p("doomed"), false, false});
  ASSERT_TRUE(watcher);
  fs::remove(p("doomed"));
  auto events = run(read_until(**watcher, [](const auto&) { return false; }));  // ends by itself
  EXPECT_TRUE(events.empty());
}

TEST_F(WatchTest, CancelledNextLosesNothingAndCloseEnds) {
  auto watcher = DirWatcher::create(io_.get_executor(), WatchOptions{root_.string(), false, false});
  ASSERT_TRUE(watcher);
  auto got = run([&]() -> asio::awaitable<std::vector<WatchEvent>> {
    // Close from another coroutine while next() waits: it must return nullopt.
    asio::steady_timer timer(io_, 50ms);
    timer.async_wait([&](auto) { (*watcher)->close(); });
    auto none = co_await (*watcher)->next();
    EXPECT_FALSE(none);
    co_return std::vector<WatchEvent>{};
  }());
  EXPECT_TRUE(got.empty());
}

TEST_F(WatchTest, RegistryBuffersEventsUntilTaken) {
  WatcherRegistry registry(io_.get_executor());
  auto id = registry.create(WatchOptions{root_.string(), false, false});
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_EQ(registry.create(WatchOptions{p("nope"), false, false}).error().code, ErrorCode::kNotFound);

  write_file(p("one.txt"), "1");
  auto events = run([&]() -> asio::awaitable<std::vector<WatchEvent>> {
    std::vector<WatchEvent> all;
    for (int i = 0; i < 100 && !has(all, "one.txt", WatchEventType::kWrite); ++i) {
      asio::steady_timer timer(io_, 10ms);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      auto taken = registry.take_events(*id);
      EXPECT_TRUE(taken);
      all.insert(all.end(), taken->begin(), taken->end());
    }
    co_return all;
  }());
  EXPECT_TRUE(has(events, "one.txt", WatchEventType::kCreate));
  EXPECT_TRUE(has(events, "one.txt", WatchEventType::kWrite));
  EXPECT_TRUE(registry.take_events(*id).value().empty());  // drained

  ASSERT_TRUE(registry.remove(*id));
  EXPECT_EQ(registry.take_events(*id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(registry.remove(*id).error().code, ErrorCode::kNotFound);
  io_.restart();
  io_.run_for(50ms);  // lets the pump coroutine finish
}

}  // namespace
}  // namespace cellblock::agent
