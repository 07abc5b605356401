// The sandbox lifecycle without root: a fake runtime (boots signal readiness on the pipe they inherit,
// freezes are recorded) and a fake agent, against a real SQLite store. Create, claim, the capacity race, a
// burst beyond the pool served in arrival order, kill, timeout, pause and resume with their errors,
// auto-pause and auto-resume, recovery (including an unreadable handle), and shutdown.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include "common/async_primitives.h"
#include "common/encoding.h"
#include "runtime/handle_json.h"
#include "sandbox/sandbox_manager.h"
#include "store_test_support.h"

namespace cellblock::sandbox {
namespace {

namespace fs = std::filesystem;

// Boots "succeed" by writing the readiness byte the agent would write; a held boot waits until released.
class FakeRuntime final : public runtime::Runtime {
 public:
  Result<runtime::SandboxHandle> start(const runtime::SandboxSpec& spec) override {
    std::lock_guard lock(mutex_);
    ++starts;
    if (fail_starts) return fail(ErrorCode::kInternal, "no namespaces today");
    fs::create_directories(fs::path(spec.sandbox_dir) / "run");
    int ready = ::dup(spec.inherited_fds.at(0));
    if (agent_dies) {
      ::close(ready);
    } else if (hold_boots) {
      held_.push_back(ready);
    } else {
      (void)!::write(ready, "1", 1);
      ::close(ready);
    }
    alive_.insert(spec.id);
    layers_of_[spec.id] = spec.layers;
    runtime::SandboxHandle handle;
    handle.id = spec.id;
    handle.pid = 4242;
    handle.sandbox_dir = spec.sandbox_dir;
    handle.socket_path = spec.sandbox_dir + "/run/agent.sock";
    handle.cgroups = {"/fake/cgroup/" + spec.id};
    return handle;
  }
  bool alive(const runtime::SandboxHandle& handle) const override {
    std::lock_guard lock(mutex_);
    return alive_.count(handle.id) > 0;
  }
  Status kill(const runtime::SandboxHandle& handle) override {
    std::lock_guard lock(mutex_);
    alive_.erase(handle.id);
    frozen_.erase(handle.id);
    return {};
  }
  Status cleanup(const runtime::SandboxHandle& handle) override {
    (void)kill(handle);
    std::lock_guard lock(mutex_);
    cleaned_.push_back(handle.id);
    std::error_code ec;
    fs::remove_all(handle.sandbox_dir, ec);
    return {};
  }
  Result<runtime::Usage> usage(const runtime::SandboxHandle&) const override { return runtime::Usage{}; }
  Status freeze(const runtime::SandboxHandle& handle) override {
    std::lock_guard lock(mutex_);
    if (fail_freeze) return fail(ErrorCode::kInternal, "freezer broken");
    frozen_.insert(handle.id);
    return {};
  }
  Status thaw(const runtime::SandboxHandle& handle) override {
    std::lock_guard lock(mutex_);
    frozen_.erase(handle.id);
    return {};
  }
  // The "layer" is a file naming the sandbox it was saved from, and whether it was frozen then.
  Result<std::uint64_t> save_layer(const runtime::SandboxHandle& handle, const std::string& dest) override {
    std::lock_guard lock(mutex_);
    if (fs::exists(dest)) return fail(ErrorCode::kAlreadyExists, dest + " exists");
    fs::create_directories(dest);
    std::ofstream(fs::path(dest) / "from")
        << handle.id << (frozen_.count(handle.id) ? " frozen" : " running");
    return 4096;
  }
  // The merged "layer" lists the layers it was merged from.
  Result<std::uint64_t> merge_layers(const std::vector<std::string>& layers,
                                     const std::string& dest) override {
    std::lock_guard lock(mutex_);
    if (fs::exists(dest)) return fail(ErrorCode::kAlreadyExists, dest + " exists");
    fs::create_directories(dest);
    std::ofstream merged(fs::path(dest) / "merged");
    for (const auto& layer : layers) merged << layer << "\n";
    merges_.push_back(layers);
    if (!frozen_.empty()) ++merges_while_frozen;
    return 0;
  }
  runtime::SandboxHandle handle_for(const std::string& id, const std::string& sandbox_dir) const override {
    runtime::SandboxHandle handle;
    handle.id = id;
    handle.sandbox_dir = sandbox_dir;
    return handle;
  }

  // Lets every held boot say it is ready.
  void release_held() {
    std::lock_guard lock(mutex_);
    for (int fd : held_) {
      (void)!::write(fd, "1", 1);
      ::close(fd);
    }
    held_.clear();
  }
  bool frozen(const std::string& id) const {
    std::lock_guard lock(mutex_);
    return frozen_.count(id) > 0;
  }
  std::vector<std::string> cleaned() const {
    std::lock_guard lock(mutex_);
    return cleaned_;
  }
  std::vector<std::vector<std::string>> merges() const {
    std::lock_guard lock(mutex_);
    return merges_;
  }
  std::vector<std::string> layers_of(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = layers_of_.find(id);
    return it == layers_of_.end() ? std::vector<std::string>{} : it->second;
  }
  void forget(const std::string& id) {  // the process is gone (a host reboot)
    std::lock_guard lock(mutex_);
    alive_.erase(id);
  }

  std::atomic<int> starts = 0;
  std::atomic<bool> fail_starts = false;
  std::atomic<bool> agent_dies = false;
  std::atomic<bool> hold_boots = false;
  std::atomic<bool> fail_freeze = false;
  std::atomic<int> merges_while_frozen = 0;

 private:
  mutable std::mutex mutex_;
  std::set<std::string> alive_;
  std::set<std::string> frozen_;
  std::vector<std::string> cleaned_;
  std::vector<int> held_;
  std::map<std::string, std::vector<std::string>> layers_of_;  // what each sandbox id last started on
  std::vector<std::vector<std::string>> merges_;               // the stacks merge_layers was given
};

class FakeAgent final : public AgentControl {
 public:
  asio::awaitable<Status> claim(std::string socket_path, ClaimRequest request) override {
    if (refuse_claims) co_return fail(ErrorCode::kInternal, "agent said no");
    claims[socket_path] = request;
    deadlines[socket_path] = request.deadline_ms;
    co_return Status{};
  }
  asio::awaitable<Status> set_deadline(AgentEndpoint endpoint,
                                       std::optional<std::int64_t> deadline_ms) override {
    deadlines[endpoint.socket_path] = deadline_ms;
    co_return Status{};
  }
  bool refuse_claims = false;
  std::map<std::string, ClaimRequest> claims;
  std::map<std::string, std::optional<std::int64_t>> deadlines;
};

class SandboxManagerTest : public ::testing::Test {
 protected:
  SandboxManagerTest() : db_file_("cellblock-manager-test") {
    state_dir_ = fs::path(db_file_.path()).parent_path() / "state";
    fs::create_directories(state_dir_);
    auto opened = db_file_.open();
    EXPECT_TRUE(opened) << opened.error().message;
    db_.emplace(std::move(*opened));
    store_.emplace(*db_);
    snapshots_.emplace(*db_);
    layers_.emplace(*db_);
  }
  ~SandboxManagerTest() override {
    if (manager_) run(manager_->stop());
  }

  void start_manager(std::size_t pool_size, std::size_t max_sandboxes = 100,
                     ShutdownMode on_shutdown = ShutdownMode::kKeep,
                     std::uint64_t layer_storage_bytes = 1ULL << 30,
                     std::size_t layer_merge_depth = SavedLayers::kMergeDepth) {
    ManagerSettings settings;
    settings.boot.state_dir = state_dir_.string();
    settings.boot.agent_binary = "/bin/true";
    settings.boot.ready_timeout = std::chrono::seconds(20);
    settings.pool_size = pool_size;
    settings.max_sandboxes = max_sandboxes;
    settings.on_shutdown = on_shutdown;
    settings.layer_storage_bytes = layer_storage_bytes;
    settings.layer_merge_depth = layer_merge_depth;
    TemplateEntry entry;
    entry.info.name = "code-interpreter";
    entry.info.rootfs = "/nonexistent";
    entry.aliases = {"base"};
    manager_.emplace(io_.get_executor(), pool_, runtime_, agent_,
                     ManagerStores{*store_, *snapshots_, *layers_}, std::vector<TemplateEntry>{entry},
                     settings);
    run(manager_->start());
  }

  // Runs the io_context until `work` has finished.
  template <class T>
  T run(asio::awaitable<T> work) {
    auto future = asio::co_spawn(io_, std::move(work), asio::use_future);
    io_.restart();
    while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
      io_.run_one_for(std::chrono::milliseconds(10));
    return future.get();
  }
  // Runs the io_context until `done` holds (at most 10 s).
  void run_until(const std::function<bool()>& done) {
    io_.restart();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline)
      io_.run_one_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(done());
  }
  // `count` creates started at once, each tagged with its index when asked.
  std::vector<std::future<Result<store::SandboxRecord>>> start_creates(int count, bool tagged = false) {
    std::vector<std::future<Result<store::SandboxRecord>>> creates;
    for (int i = 0; i < count; ++i) {
      CreateCommand command;
      command.template_id = "base";
      if (tagged) command.metadata = {{"n", std::to_string(i)}};
      creates.push_back(asio::co_spawn(io_, manager_->create(command), asio::use_future));
    }
    return creates;
  }
  template <class T>
  static bool all_ready(std::vector<std::future<T>>& futures) {
    return std::all_of(futures.begin(), futures.end(), [](auto& f) {
      return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
    });
  }
  void wait_for_pool(std::size_t ready) {
    run_until([&] { return manager_->warm_count() >= ready; });
  }
  store::SandboxRecord create(CreateCommand command = {}) {
    if (command.template_id.empty()) command.template_id = "base";
    auto record = run(manager_->create(std::move(command)));
    EXPECT_TRUE(record) << record.error().message;
    return record ? *record : store::SandboxRecord{};
  }

  asio::io_context io_;
  asio::thread_pool pool_{2};
  store::testing::TempStateDb db_file_;
  fs::path state_dir_;
  std::optional<store::Database> db_;
  std::optional<store::SandboxStore> store_;
  std::optional<store::SnapshotStore> snapshots_;
  std::optional<store::LayerStore> layers_;
  FakeRuntime runtime_;
  FakeAgent agent_;
  std::optional<SandboxManager> manager_;
};

TEST_F(SandboxManagerTest, CreateClaimsFromThePoolAndHandsTheAgentItsTokenEnvAndDeadline) {
  start_manager(1);
  wait_for_pool(1);
  CreateCommand command;
  command.timeout_seconds = 60;
  command.env_vars = {{"A", "1"}};
  command.metadata = {{"k", "v"}};
  auto record = create(command);
  run_until([&] { return runtime_.starts == 2 && manager_->warm_count() == 1; });  // claimed, and refilled
  auto socket = fs::path(state_dir_ / "sandboxes" / record.id / "run" / "agent.sock").string();
  ASSERT_TRUE(agent_.claims.count(socket));
  EXPECT_EQ(agent_.claims[socket].env_vars.at("A"), "1");
  EXPECT_EQ(agent_.claims[socket].access_token, record.envd_access_token);
  ASSERT_TRUE(agent_.claims[socket].deadline_ms);
  EXPECT_NEAR(static_cast<double>(*agent_.claims[socket].deadline_ms),
              (record.end_at + 5'000'000'000LL) / 1e6, 1);
  auto stored = manager_->get(record.id);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->state, store::SandboxState::kRunning);
  EXPECT_EQ(stored->metadata.at("k"), "v");
  ASSERT_TRUE(manager_->route(record.id));
  EXPECT_EQ(manager_->route(record.id)->access_token, record.envd_access_token);
}

TEST_F(SandboxManagerTest, UnknownTemplateAndBadTimeoutAreInvalidArguments) {
  start_manager(0);
  CreateCommand command;
  command.template_id = "nope";
  EXPECT_EQ(run(manager_->create(command)).error().code, ErrorCode::kInvalidArgument);
  command.template_id = "base";
  command.timeout_seconds = 0;
  EXPECT_EQ(run(manager_->create(command)).error().code, ErrorCode::kInvalidArgument);
  command.timeout_seconds = 48 * 3600;
  EXPECT_EQ(run(manager_->create(command)).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SandboxManagerTest, ConcurrentCreatesNeverOvershootTheCapacity) {
  start_manager(0, 5);
  auto creates = start_creates(100);
  run_until([&] { return all_ready(creates); });
  int created = 0, refused = 0;
  for (auto& future : creates) {
    auto result = future.get();
    if (result) {
      ++created;
    } else {
      EXPECT_EQ(result.error().code, ErrorCode::kResourceExhausted) << result.error().message;
      ++refused;
    }
  }
  EXPECT_EQ(created, 5);
  EXPECT_EQ(refused, 95);
  EXPECT_EQ(runtime_.starts, 5) << "no boot beyond the capacity";
  EXPECT_EQ(manager_->capacity().used(), 5u);
}

TEST_F(SandboxManagerTest, ABurstAgainstASmallPoolCountsEverySandboxOnce) {
  // 8 creates and a pool of 2 need exactly 10 slots: a pool boot that ends up serving a waiting create must
  // not keep a slot of its own besides the create's.
  start_manager(2, 10);
  wait_for_pool(2);
  auto creates = start_creates(8);
  run_until([&] { return all_ready(creates); });
  for (auto& future : creates) {
    auto record = future.get();
    EXPECT_TRUE(record) << record.error().message;
  }
  run_until([&] { return manager_->warm_count() == 2; });
  EXPECT_EQ(manager_->capacity().used(), 10u);
}

TEST_F(SandboxManagerTest, ABurstBeyondThePoolIsServedInArrivalOrder) {
  start_manager(0);
  runtime_.hold_boots = true;
  auto creates = start_creates(6, /*tagged=*/true);
  run_until([&] { return runtime_.starts == 2; });
  run(sleep_for(std::chrono::milliseconds(100)));
  EXPECT_EQ(runtime_.starts, 2) << "boots are admitted two at a time";
  runtime_.hold_boots = false;
  runtime_.release_held();
  run_until([&] { return all_ready(creates); });
  std::vector<std::int64_t> started;
  for (int i = 0; i < 6; ++i) {
    auto record = creates[i].get();
    ASSERT_TRUE(record) << record.error().message;
    EXPECT_EQ(record->metadata.at("n"), std::to_string(i));
    started.push_back(record->started_at);
  }
  EXPECT_TRUE(std::is_sorted(started.begin(), started.end())) << "the first in line is served first";
}

TEST_F(SandboxManagerTest, ABootThatFailsFailsTheCreateWithTheReason) {
  start_manager(0);
  runtime_.agent_dies = true;
  CreateCommand command;
  command.template_id = "base";
  auto record = run(manager_->create(command));
  ASSERT_FALSE(record);
  EXPECT_NE(record.error().message.find("exited during start-up"), std::string::npos)
      << record.error().message;
  EXPECT_EQ(manager_->capacity().used(), 0u) << "the failed boot's room is free again";
}

TEST_F(SandboxManagerTest, AClaimTheAgentRefusesDestroysTheSandbox) {
  start_manager(0);
  agent_.refuse_claims = true;
  CreateCommand command;
  command.template_id = "base";
  auto record = run(manager_->create(command));
  ASSERT_FALSE(record);
  EXPECT_EQ(runtime_.cleaned().size(), 1u);
  EXPECT_EQ(manager_->capacity().used(), 0u);
}

TEST_F(SandboxManagerTest, KillRemovesTheRouteRecordsTheKillAndFreesTheRoom) {
  start_manager(0);
  auto record = create();
  auto route = manager_->route(record.id);
  ASSERT_TRUE(route);
  ASSERT_TRUE(run(manager_->kill(record.id, "test")));
  EXPECT_TRUE(route->abort->aborted()) << "open streams are cut";
  EXPECT_FALSE(manager_->route(record.id));
  EXPECT_EQ(manager_->get(record.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->get(record.id)->kill_reason, "test");
  EXPECT_EQ(manager_->capacity().used(), 0u);
  EXPECT_EQ(run(manager_->kill(record.id, "again")).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(run(manager_->kill("nosuchsandbox", "x")).error().code, ErrorCode::kNotFound);
}

TEST_F(SandboxManagerTest, TheTimeoutKills) {
  start_manager(0);
  CreateCommand command;
  command.timeout_seconds = 1;
  auto record = create(command);
  run_until([&] { return !manager_->route(record.id); });
  EXPECT_EQ(store_->get(record.id)->kill_reason, "timeout");
}

TEST_F(SandboxManagerTest, PauseFreezesUnroutesAndResumeThaws) {
  start_manager(0);
  auto record = create();
  auto socket = manager_->route(record.id)->socket_path;
  auto before = manager_->route(record.id);
  ASSERT_TRUE(run(manager_->pause(record.id)));
  EXPECT_TRUE(runtime_.frozen(record.id));
  EXPECT_TRUE(before->abort->aborted());
  EXPECT_FALSE(manager_->route(record.id)) << "a paused sandbox gets the 502";
  EXPECT_FALSE(agent_.deadlines[socket]) << "its own deadline is lifted before it is frozen";
  EXPECT_EQ(manager_->get(record.id)->state, store::SandboxState::kPaused);
  EXPECT_EQ(store_->get(record.id)->state, store::SandboxState::kPaused);

  auto again = run(manager_->pause(record.id));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_NE(again.error().message.find("is already paused"), std::string::npos);
  EXPECT_EQ(run(manager_->set_timeout(record.id, 30)).error().code, ErrorCode::kNotFound);
  auto resumed = run(manager_->connect(record.id, 120));
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_TRUE(resumed->resumed);
  EXPECT_FALSE(runtime_.frozen(record.id));
  ASSERT_TRUE(manager_->route(record.id));
  EXPECT_EQ(manager_->route(record.id)->access_token, record.envd_access_token)
      << "same token after a resume";
  EXPECT_TRUE(agent_.deadlines[socket]);
  EXPECT_EQ(store_->get(record.id)->state, store::SandboxState::kRunning);

  auto running = run(manager_->connect(record.id, 10));
  ASSERT_TRUE(running);
  EXPECT_FALSE(running->resumed);
  EXPECT_EQ(run(manager_->resume(record.id, std::nullopt)).error().code, ErrorCode::kConflict);
}

TEST_F(SandboxManagerTest, AFailedFreezeLeavesTheSandboxRunning) {
  start_manager(0);
  auto record = create();
  runtime_.fail_freeze = true;
  auto paused = run(manager_->pause(record.id));
  ASSERT_FALSE(paused);
  EXPECT_EQ(paused.error().code, ErrorCode::kInternal);
  EXPECT_TRUE(manager_->route(record.id));
  EXPECT_EQ(manager_->get(record.id)->state, store::SandboxState::kRunning);
}

TEST_F(SandboxManagerTest, KillingAPausedSandboxWorks) {
  start_manager(0);
  auto record = create();
  ASSERT_TRUE(run(manager_->pause(record.id)));
  ASSERT_TRUE(run(manager_->kill(record.id, "done")));
  EXPECT_EQ(manager_->get(record.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(run(manager_->connect(record.id, std::nullopt)).error().code, ErrorCode::kNotFound);
}

TEST_F(SandboxManagerTest, AutoPauseAtTheTimeoutAndAutoResumeOnTraffic) {
  start_manager(0);
  CreateCommand command;
  command.timeout_seconds = 1;
  command.lifecycle.pause_on_timeout = true;
  command.lifecycle.auto_resume = true;
  auto record = create(command);
  auto socket = manager_->route(record.id)->socket_path;
  EXPECT_FALSE(agent_.deadlines[socket]) << "only the server can pause: the agent gets no deadline";
  run_until([&] { return runtime_.frozen(record.id); });
  EXPECT_EQ(manager_->get(record.id)->state, store::SandboxState::kPaused);

  EXPECT_EQ(run(manager_->wake(record.id, std::string_view("wrong"))).error().code,
            ErrorCode::kPermissionDenied);
  EXPECT_TRUE(runtime_.frozen(record.id));
  auto woken = run(manager_->wake(record.id, std::string_view(record.envd_access_token)));
  ASSERT_TRUE(woken) << woken.error().message;
  EXPECT_FALSE(runtime_.frozen(record.id));
  auto resumed = manager_->get(record.id);
  EXPECT_GE(resumed->end_at - resumed->started_at, 300'000'000'000LL)
      << "at least five minutes after auto-resume";
}

TEST_F(SandboxManagerTest, TrafficDoesNotWakeASandboxWithoutAutoResume) {
  start_manager(0);
  auto record = create();
  ASSERT_TRUE(run(manager_->pause(record.id)));
  EXPECT_EQ(run(manager_->wake(record.id, std::nullopt)).error().code, ErrorCode::kSandboxUnavailable);
  EXPECT_TRUE(runtime_.frozen(record.id));
}

TEST_F(SandboxManagerTest, RecoveryReattachesRunningAndPausedAndReapsTheRest) {
  start_manager(0);
  auto running = create();
  auto paused = create();
  auto lost = create();
  ASSERT_TRUE(run(manager_->pause(paused.id)));
  run(manager_->stop());
  manager_.reset();

  runtime_.forget(lost.id);
  // A record whose handle cannot be read, and a directory nobody recorded.
  store::SandboxRecord broken = running;
  broken.id = "brokenhandle0000000";
  broken.handle = "{not json";
  ASSERT_TRUE(store_->insert(broken));
  fs::create_directories(state_dir_ / "sandboxes" / broken.id);
  fs::create_directories(state_dir_ / "sandboxes" / "strayunclaimed000000");

  start_manager(0);
  EXPECT_TRUE(manager_->route(running.id));
  EXPECT_EQ(manager_->get(paused.id)->state, store::SandboxState::kPaused);
  EXPECT_FALSE(manager_->route(paused.id));
  EXPECT_EQ(manager_->get(lost.id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->get(lost.id)->kill_reason, "lost");
  EXPECT_EQ(manager_->get(broken.id).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(state_dir_ / "sandboxes" / broken.id))
      << "the unreadable record's directory is removed";
  EXPECT_FALSE(fs::exists(state_dir_ / "sandboxes" / "strayunclaimed000000"));
  EXPECT_EQ(manager_->capacity().used(), 2u);
  auto resumed = run(manager_->connect(paused.id, std::nullopt));
  ASSERT_TRUE(resumed);
  EXPECT_TRUE(resumed->resumed);
}

TEST_F(SandboxManagerTest, ShutdownKeepsOrKillsPerMode) {
  start_manager(1, 100, ShutdownMode::kKill);
  wait_for_pool(1);
  auto record = create();
  run(manager_->stop());
  manager_.reset();
  EXPECT_EQ(store_->get(record.id)->state, store::SandboxState::kKilled);
  EXPECT_EQ(store_->get(record.id)->kill_reason, "server shutdown");
}

TEST_F(SandboxManagerTest, AFilesystemOnlyPauseSavesTheFilesFreesTheRoomAndTheResumeBootsOnThem) {
  start_manager(0);
  CreateCommand command;
  command.env_vars = {{"TEST_VAR", "kept"}};
  auto record = create(command);
  ASSERT_TRUE(run(manager_->pause(record.id, /*keep_memory=*/false)));
  EXPECT_EQ(manager_->get(record.id)->state, store::SandboxState::kPaused);
  EXPECT_FALSE(manager_->route(record.id));
  EXPECT_EQ(manager_->capacity().used(), 0u) << "no process, no memory: it holds no room";
  auto stored = store_->get(record.id);
  ASSERT_EQ(stored->layers.size(), 1u);
  EXPECT_TRUE(stored->handle.empty());
  const fs::path layer = state_dir_ / "layers" / stored->layers[0];
  std::ifstream from(layer / "from");
  std::string saved;
  std::getline(from, saved);
  EXPECT_EQ(saved, record.id + " frozen") << "the files are copied while nothing runs";
  EXPECT_FALSE(runtime_.alive(runtime::SandboxHandle{record.id}));
  EXPECT_EQ(run(manager_->pause(record.id, false)).error().code, ErrorCode::kConflict);
  EXPECT_EQ(run(manager_->set_timeout(record.id, 60)).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(run(manager_->wake(record.id, std::nullopt))) << "traffic never reboots it";

  auto resumed = run(manager_->connect(record.id, 120));
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_TRUE(resumed->resumed);
  EXPECT_EQ(resumed->record.state, store::SandboxState::kRunning);
  EXPECT_EQ(runtime_.layers_of(record.id), std::vector<std::string>{layer.string()})
      << "booted anew, under its own id, on its saved files";
  auto route = manager_->route(record.id);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->access_token, record.envd_access_token) << "same token: the SDK keeps the old one";
  EXPECT_EQ(agent_.claims[route->socket_path].env_vars, command.env_vars);
  EXPECT_EQ(manager_->capacity().used(), 1u);

  ASSERT_TRUE(run(manager_->kill(record.id, "test")));
  EXPECT_FALSE(fs::exists(layer)) << "the kill frees the saved files nothing else holds";
}

TEST_F(SandboxManagerTest, RepeatedFilesystemPausesMergeTheStackOnceItGrowsDeeperThanTheMergeDepth) {
  start_manager(0, 100, ShutdownMode::kKeep, 1ULL << 30, /*layer_merge_depth=*/3);
  auto record = create();
  const fs::path dir = state_dir_ / "layers";
  for (int cycle = 1; cycle <= 8; ++cycle) {
    ASSERT_TRUE(run(manager_->pause(record.id, /*keep_memory=*/false))) << "cycle " << cycle;
    auto stored = store_->get(record.id);
    ASSERT_TRUE(stored);
    // 1, 2, 3, then 4 merged into 1, 2, 3, merged, 2.
    EXPECT_EQ(stored->layers.size(), static_cast<std::size_t>((cycle - 1) % 3 + 1)) << "cycle " << cycle;
    std::size_t on_disk = std::distance(fs::directory_iterator(dir), fs::directory_iterator());
    EXPECT_EQ(on_disk, stored->layers.size()) << "cycle " << cycle << ": the replaced layers are removed";
    auto resumed = run(manager_->connect(record.id, 120));
    ASSERT_TRUE(resumed) << resumed.error().message;
    std::vector<std::string> expected;
    for (const auto& id : stored->layers) expected.push_back((dir / id).string());
    EXPECT_EQ(runtime_.layers_of(record.id), expected) << "cycle " << cycle;
  }
  auto merges = runtime_.merges();
  ASSERT_EQ(merges.size(), 2u);
  for (const auto& merged : merges) EXPECT_EQ(merged.size(), 4u);
}

TEST_F(SandboxManagerTest, ASnapshotKeepsTheLayersAMergeReplacedForTheSandbox) {
  start_manager(0, 100, ShutdownMode::kKeep, 1ULL << 30, /*layer_merge_depth=*/2);
  auto record = create();
  ASSERT_TRUE(run(manager_->pause(record.id, false)));
  ASSERT_TRUE(run(manager_->connect(record.id, 120)));
  ASSERT_TRUE(run(manager_->pause(record.id, false)));
  ASSERT_TRUE(run(manager_->connect(record.id, 120)));
  auto snapshot = run(manager_->create_snapshot(record.id, std::nullopt));
  ASSERT_TRUE(snapshot) << snapshot.error().message;
  ASSERT_EQ(snapshot->layers.size(), 1u) << "three layers deep: merged";
  ASSERT_EQ(runtime_.merges().size(), 1u);
  EXPECT_EQ(runtime_.merges_while_frozen.load(), 0) << "a snapshot's merge runs once the sandbox is thawed";
  ASSERT_TRUE(run(manager_->pause(record.id, false)));  // merged again; the snapshot holds its own layer
  auto stored = store_->get(record.id);
  ASSERT_EQ(stored->layers.size(), 1u);
  EXPECT_NE(stored->layers[0], snapshot->layers[0]);
  EXPECT_TRUE(fs::exists(state_dir_ / "layers" / snapshot->layers[0]));
  EXPECT_TRUE(fs::exists(state_dir_ / "layers" / stored->layers[0]));
}

TEST_F(SandboxManagerTest, ConnectWithoutMemoryRebootsAMemoryPausedSandboxOnItsFiles) {
  start_manager(0);
  auto record = create();
  ASSERT_TRUE(run(manager_->pause(record.id)));
  auto resumed = run(manager_->connect(record.id, std::nullopt, /*keep_memory=*/false));
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(runtime_.layers_of(record.id).size(), 1u) << "never a silent memory restore";
  EXPECT_TRUE(manager_->route(record.id));
}

TEST_F(SandboxManagerTest, AFilesystemPauseBeyondTheStorageBudgetIsRefusedAndKeepsItRunning) {
  start_manager(0, 100, ShutdownMode::kKeep, /*layer_storage_bytes=*/4096);
  auto first = create();
  ASSERT_TRUE(run(manager_->create_snapshot(first.id, std::nullopt)));  // takes the whole budget
  auto refused = run(manager_->pause(first.id, false));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotEnoughSpace) << refused.error().message;
  EXPECT_TRUE(manager_->route(first.id)) << "a refused pause leaves the sandbox running";
  EXPECT_FALSE(runtime_.frozen(first.id));
}

TEST_F(SandboxManagerTest, SnapshotsAreNamedListedStartedFromAndDeleted) {
  start_manager(0);
  auto source = create();
  auto unnamed = run(manager_->create_snapshot(source.id, std::nullopt));
  ASSERT_TRUE(unnamed) << unnamed.error().message;
  EXPECT_EQ(snapshot_id(*unnamed), unnamed->template_id + ":default");
  EXPECT_FALSE(runtime_.frozen(source.id)) << "the sandbox runs on after its snapshot";
  EXPECT_TRUE(manager_->route(source.id));

  auto named = run(manager_->create_snapshot(source.id, SnapshotName{"snap", "default"}));
  ASSERT_TRUE(named);
  EXPECT_EQ(snapshot_id(*named), "cellblock/snap:default");
  EXPECT_EQ(snapshot_names(*named), std::vector<std::string>{"cellblock/snap"});
  auto again = run(manager_->create_snapshot(source.id, SnapshotName{"snap", "default"}));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->template_id, named->template_id) << "a name taken again is a new build of it";
  EXPECT_FALSE(fs::exists(state_dir_ / "layers" / named->layers[0])) << "the replaced build's files go";

  store::SnapshotQuery query;
  query.sandbox_id = source.id;
  auto listed = manager_->list_snapshots(query);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->records.size(), 2u);
  EXPECT_EQ(snapshot_id(listed->records[0]), "cellblock/snap:default") << "newest first";

  CreateCommand from;
  from.template_id = "cellblock/snap:default";
  auto child = create(from);
  EXPECT_EQ(child.template_id, again->template_id);
  ASSERT_EQ(runtime_.layers_of(child.id).size(), 1u);
  EXPECT_EQ(runtime_.layers_of(child.id)[0], (state_dir_ / "layers" / again->layers[0]).string());

  auto busy = run(manager_->delete_snapshot("cellblock/snap:default"));
  ASSERT_FALSE(busy);
  EXPECT_NE(busy.error().message.find("running sandboxes using it"), std::string::npos);
  ASSERT_TRUE(run(manager_->kill(child.id, "test")));
  EXPECT_EQ(run(manager_->delete_snapshot("cellblock/snap:default")).value(), true);
  EXPECT_EQ(run(manager_->delete_snapshot("snap")).value(), false);
  EXPECT_FALSE(fs::exists(state_dir_ / "layers" / again->layers[0]));
  EXPECT_TRUE(fs::exists(state_dir_ / "layers" / unnamed->layers[0]));

  ASSERT_TRUE(run(manager_->pause(source.id)));
  EXPECT_EQ(run(manager_->create_snapshot(source.id, std::nullopt)).error().code, ErrorCode::kNotFound)
      << "E2B: a paused sandbox cannot be snapshotted";
}

TEST_F(SandboxManagerTest, ASandboxPausedOnDiskSurvivesARestartAndItsSnapshotsOutliveIt) {
  start_manager(0);
  auto record = create();
  auto snapshot = run(manager_->create_snapshot(record.id, SnapshotName{"keep", "v1"}));
  ASSERT_TRUE(snapshot);
  ASSERT_TRUE(run(manager_->pause(record.id, false)));
  run(manager_->stop());
  manager_.reset();
  fs::create_directories(state_dir_ / "layers" / "interruptedsave00000");

  start_manager(0);
  EXPECT_FALSE(fs::exists(state_dir_ / "layers" / "interruptedsave00000"));
  EXPECT_EQ(manager_->get(record.id)->state, store::SandboxState::kPaused);
  auto resumed = run(manager_->connect(record.id, std::nullopt));
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(runtime_.layers_of(record.id).size(), 1u);
  ASSERT_TRUE(run(manager_->kill(record.id, "test")));
  EXPECT_TRUE(manager_->find_snapshot("cellblock/keep:v1")) << "killing the sandbox keeps its snapshots";
  EXPECT_TRUE(fs::exists(state_dir_ / "layers" / snapshot->layers[0]));
}

}  // namespace
}  // namespace cellblock::sandbox
