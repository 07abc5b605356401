// Real processes through ProcessTable / Process / Subscription, driven by a real io_context.

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/process/child_env.h"
#include "agent/process/process_table.h"

namespace cellblock::agent {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Collected {
  bool start_first = false;
  std::uint32_t start_pid = 0;
  std::string out, err, pty;
  std::optional<EndEvent> end;
  int events_after_end = 0;
};

// Reads a subscription to its end, checking the Start → Data* → End order.
asio::awaitable<Collected> collect(Subscription& subscription) {
  Collected c;
  bool first = true;
  while (auto event = co_await subscription.next()) {
    if (c.end) ++c.events_after_end;
    if (auto* start = std::get_if<StartEvent>(&*event)) {
      c.start_first = first;
      c.start_pid = start->pid;
    } else if (auto* data = std::get_if<DataEvent>(&*event)) {
      (data->stream == OutputStream::kStdout   ? c.out
       : data->stream == OutputStream::kStderr ? c.err
                                               : c.pty) += data->bytes;
    } else {
      c.end = std::get<EndEvent>(*event);
    }
    first = false;
  }
  co_return c;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

class ProcessTest : public ::testing::Test {
 protected:
  template <class T>
  T run(asio::awaitable<T> work, std::chrono::seconds limit = 15s) {
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

  UserSpec root_user() {
    AgentUsers users;
    users.default_user = "root";
    users.default_workdir = temp_dir_.string();
    auto user = resolve_user(users, std::nullopt);
    EXPECT_TRUE(user) << user.error().message;
    return *user;
  }

  StartSpec bash(const std::string& script) {
    StartSpec spec;
    spec.config.cmd = "/bin/bash";
    spec.config.args = {"-c", script};
    spec.user = root_user();
    return spec;
  }

  std::shared_ptr<Process> start(StartSpec spec) {
    auto process = table_.start(std::move(spec));
    EXPECT_TRUE(process) << process.error().message;
    return *process;
  }

  Collected run_to_end(StartSpec spec) {
    auto process = start(std::move(spec));
    auto subscription = process->subscribe();
    return run(collect(subscription));
  }

  void SetUp() override {
    temp_dir_ = std::filesystem::temp_directory_path() /
                ("agentproc-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(temp_dir_);
  }
  void TearDown() override { std::filesystem::remove_all(temp_dir_); }

  asio::io_context io_;
  ProcessTable table_{io_.get_executor(), 300ms};
  std::filesystem::path temp_dir_;
};

TEST_F(ProcessTest, EchoReportsStartOutputAndSuccess) {
  auto process = start(bash("echo hi"));
  auto subscription = process->subscribe();
  Collected c = run(collect(subscription));
  EXPECT_TRUE(c.start_first);
  EXPECT_EQ(c.start_pid, process->pid());
  EXPECT_GT(c.start_pid, 0u);
  EXPECT_EQ(c.out, "hi\n");
  EXPECT_EQ(c.err, "");
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, 0);
  EXPECT_TRUE(c.end->exited);
  EXPECT_EQ(c.end->status, "exit status 0");
  EXPECT_FALSE(c.end->error);
  EXPECT_FALSE(c.end->deadline_exceeded);
  EXPECT_EQ(c.events_after_end, 0);
}

TEST_F(ProcessTest, NonZeroExitCarriesGoStyleStatusAndError) {
  Collected c = run_to_end(bash("echo partial; exit 3"));
  EXPECT_EQ(c.out, "partial\n");
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, 3);
  EXPECT_TRUE(c.end->exited);
  EXPECT_EQ(c.end->status, "exit status 3");
  EXPECT_EQ(c.end->error, "exit status 3");
}

TEST_F(ProcessTest, StderrIsSeparateFromStdout) {
  Collected c = run_to_end(bash("echo out; echo err >&2; echo out2"));
  EXPECT_EQ(c.out, "out\nout2\n");
  EXPECT_EQ(c.err, "err\n");
}

TEST_F(ProcessTest, ExecFailureAndMissingCommandAreErrors) {
  StartSpec spec = bash("");
  spec.config.cmd = "definitely-not-a-command-xyz";
  auto missing = table_.start(spec);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(missing.error().message.find("definitely-not-a-command-xyz"), std::string::npos);

  // Found through the PATH of the child's env, not the agent's.
  std::filesystem::path tool = temp_dir_ / "mytool";
  {
    std::FILE* f = std::fopen(tool.c_str(), "w");
    std::fputs("#!/bin/sh\necho from-mytool\n", f);
    std::fclose(f);
  }
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  StartSpec via_path = bash("");
  via_path.config.cmd = "mytool";
  via_path.config.args = {};
  via_path.config.envs["PATH"] = temp_dir_.string() + ":/usr/bin:/bin";
  Collected c = run_to_end(via_path);
  EXPECT_EQ(c.out, "from-mytool\n");
}

TEST_F(ProcessTest, StdinIsWrittenInOrderAndClosed) {
  StartSpec spec;
  spec.config.cmd = "cat";
  spec.stdin_open = true;
  spec.user = root_user();
  auto process = start(spec);
  auto subscription = process->subscribe();
  ASSERT_TRUE(process->send_stdin("hello\n"));
  ASSERT_TRUE(process->send_stdin(std::string(200000, 'x')));  // larger than a pipe buffer
  ASSERT_TRUE(process->send_stdin("world"));
  ASSERT_TRUE(process->close_stdin());
  EXPECT_FALSE(process->send_stdin("late"));
  Collected c = run(collect(subscription));
  EXPECT_EQ(c.out, "hello\n" + std::string(200000, 'x') + "world");
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, 0);

  auto after = process->send_stdin("x");
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().code, ErrorCode::kNotFound);
}

TEST_F(ProcessTest, StdinClosedByDefault) {
  StartSpec spec;
  spec.config.cmd = "cat";
  spec.user = root_user();
  auto process = start(spec);
  auto subscription = process->subscribe();
  auto sent = process->send_stdin("x");
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kInvalidArgument);
  Collected c = run(collect(subscription));  // cat reads /dev/null and exits
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, 0);
}

TEST_F(ProcessTest, SigkillEndsWithSignalStatusAndKillsTheGroup) {
  auto process = start(bash("sleep 30 & echo started; wait"));
  auto subscription = process->subscribe();
  Collected c = run([&]() -> asio::awaitable<Collected> {
    // Wait for the output so the background child exists, then kill.
    auto first = co_await subscription.next();
    auto data = co_await subscription.next();
    EXPECT_TRUE(std::holds_alternative<DataEvent>(*data));
    auto sent = process->signal(SIGKILL);
    EXPECT_TRUE(sent);
    co_return co_await collect(subscription);
  }());
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, -1);
  EXPECT_FALSE(c.end->exited);
  EXPECT_EQ(c.end->status, "signal: killed");
  EXPECT_EQ(c.end->error, "signal: killed");
  // The background sleep was in the group; nothing keeps the output open, so the end was not delayed.
  auto again = process->signal(SIGKILL);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

TEST_F(ProcessTest, PtyRunsInteractiveShellAndResizes) {
  StartSpec spec;
  spec.config.cmd = "/bin/bash";
  spec.config.args = {"--norc", "--noprofile", "-i"};
  spec.config.envs = {{"TERM", "dumb"}, {"PS1", "$ "}};
  spec.pty = PtySize{80, 24};
  spec.user = root_user();
  auto process = start(spec);
  ASSERT_TRUE(process->has_pty());
  auto subscription = process->subscribe();

  auto read_until = [&](std::string needle, std::string& seen) -> asio::awaitable<bool> {
    while (seen.find(needle) == std::string::npos) {
      auto event = co_await subscription.next();
      if (!event) co_return false;
      if (auto* data = std::get_if<DataEvent>(&*event)) {
        EXPECT_EQ(data->stream, OutputStream::kPty);
        seen += data->bytes;
      }
      if (std::holds_alternative<EndEvent>(*event)) co_return false;
    }
    co_return true;
  };

  Collected c = run([&]() -> asio::awaitable<Collected> {
    std::string seen;
    // Typed only once bash shows its prompt: input that arrives while an interactive bash is still setting
    // up its terminal can be lost.
    EXPECT_TRUE(co_await read_until("$ ", seen));
    EXPECT_TRUE(process->send_pty("echo $((6*7))\n"));
    EXPECT_TRUE(co_await read_until("42", seen));
    EXPECT_TRUE(process->resize(PtySize{123, 45}));
    EXPECT_TRUE(process->send_pty("stty size\n"));
    EXPECT_TRUE(co_await read_until("45 123", seen));
    EXPECT_TRUE(process->send_pty("exit 7\n"));
    co_return co_await collect(subscription);
  }());
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, 7);
  auto resize = process->resize(PtySize{10, 10});
  EXPECT_FALSE(resize);
}

TEST_F(ProcessTest, EnvironmentLayersLaterWins) {
  table_.set_sandbox_env({{"SANDBOX_ONLY", "s"}, {"OVERRIDE", "sandbox"}, {"USER", "from-sandbox"}});
  StartSpec spec = bash("echo \"$HOME|$USER|$LOGNAME|$SANDBOX_ONLY|$OVERRIDE|$CALL_ONLY|$PATH\"");
  spec.config.envs = {{"OVERRIDE", "call"}, {"CALL_ONLY", "c"}};
  Collected c = run_to_end(spec);
  EXPECT_EQ(c.out, "/root|from-sandbox|root|s|call|c|" + std::string(kDefaultPath) + "\n");
}

TEST_F(ProcessTest, CwdDefaultsToWorkdirAndBadCwdIsInvalidArgument) {
  Collected c = run_to_end(bash("pwd"));
  EXPECT_EQ(c.out, temp_dir_.string() + "\n");

  std::filesystem::create_directories(temp_dir_ / "sub");
  StartSpec relative = bash("pwd");
  relative.config.cwd = "sub";
  EXPECT_EQ(run_to_end(relative).out, (temp_dir_ / "sub").string() + "\n");

  StartSpec bad = bash("pwd");
  bad.config.cwd = "/nope";
  auto started = table_.start(bad);
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(started.error().message, "cwd '/nope' does not exist");
}

TEST_F(ProcessTest, RunsAsAnotherUserWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  AgentUsers users;
  users.default_user = "root";
  auto nobody = resolve_user(users, std::string("nobody"));
  ASSERT_TRUE(nobody) << nobody.error().message;
  StartSpec spec = bash("id -u; id -g; echo $HOME $USER");
  spec.user = *nobody;
  spec.config.cwd = "/";
  Collected c = run_to_end(spec);
  EXPECT_EQ(c.out, std::to_string(nobody->uid) + "\n" + std::to_string(nobody->gid) + "\n" + nobody->home +
                       " nobody\n");

  auto unknown = resolve_user(users, std::string("no-such-user-xyz"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kUnauthenticated);
  users.default_user = "no-such-user-xyz";
  EXPECT_EQ(resolve_user(users, std::nullopt).error().code, ErrorCode::kUnauthenticated);
}

TEST_F(ProcessTest, TwoSubscribersEachSeeOutputAfterSubscribing) {
  StartSpec spec;
  spec.config.cmd = "cat";
  spec.stdin_open = true;
  spec.user = root_user();
  auto process = start(spec);
  auto first = process->subscribe();
  std::optional<Subscription> second;
  Collected a, b;
  run([&]() -> asio::awaitable<bool> {
    EXPECT_TRUE(process->send_stdin("one\n"));
    std::string seen;
    auto start = co_await first.next();
    EXPECT_TRUE(std::holds_alternative<StartEvent>(*start));
    while (seen != "one\n") {
      auto event = co_await first.next();
      seen += std::get<DataEvent>(*event).bytes;
    }
    second.emplace(process->subscribe());
    EXPECT_TRUE(process->send_stdin("two\n"));
    EXPECT_TRUE(process->close_stdin());
    a = co_await collect(first);
    b = co_await collect(*second);
    co_return true;
  }());
  EXPECT_EQ(a.out, "two\n");
  EXPECT_TRUE(b.start_first);
  EXPECT_EQ(b.start_pid, process->pid());
  EXPECT_EQ(b.out, "two\n");
  ASSERT_TRUE(a.end && b.end);
  EXPECT_EQ(b.end->exit_code, 0);
}

TEST_F(ProcessTest, NextRacedAgainstKeepaliveTimerLosesNoEvent) {
  // The lead's stream loop: `co_await (subscription.next() || keepalive.async_wait())`.
  auto process = start(bash("for i in 1 2 3 4 5; do echo $i; sleep 0.03; done"));
  auto subscription = process->subscribe();
  Collected c = run([&]() -> asio::awaitable<Collected> {
    using namespace boost::asio::experimental::awaitable_operators;
    Collected out;
    int keepalives = 0;
    for (;;) {
      asio::steady_timer keepalive(co_await asio::this_coro::executor, 5ms);
      auto winner = co_await (subscription.next() || keepalive.async_wait(asio::use_awaitable));
      if (winner.index() == 1) {
        ++keepalives;
        continue;
      }
      auto& event = std::get<0>(winner);
      if (!event) break;
      if (auto* data = std::get_if<DataEvent>(&*event)) out.out += data->bytes;
      if (auto* end = std::get_if<EndEvent>(&*event)) out.end = *end;
    }
    EXPECT_GT(keepalives, 5);
    co_return out;
  }());
  EXPECT_EQ(c.out, "1\n2\n3\n4\n5\n");
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, 0);
}

TEST_F(ProcessTest, DeadlineKillsAndReportsDeadlineExceeded) {
  StartSpec spec = bash("echo begin; sleep 30");
  spec.timeout = 300ms;
  auto began = std::chrono::steady_clock::now();
  Collected c = run_to_end(spec);
  auto took = std::chrono::steady_clock::now() - began;
  EXPECT_EQ(c.out, "begin\n");
  ASSERT_TRUE(c.end);
  EXPECT_TRUE(c.end->deadline_exceeded);
  EXPECT_EQ(c.end->error, "deadline_exceeded");
  EXPECT_EQ(c.end->status, "signal: killed");
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 5s);
}

TEST_F(ProcessTest, HugeOutputWithSlowSubscriberStaysBounded) {
  constexpr std::size_t kTotal = 200'000'000;
  auto process = start(bash("yes | head -c " + std::to_string(kTotal)));
  auto subscription = process->subscribe();
  std::size_t received = 0;
  std::size_t queued_while_stalled = 0;
  Collected rest = run(
      [&]() -> asio::awaitable<Collected> {
        // A subscriber that does not read for a while: the agent must stop reading the pipe, not buffer 200
        // MB.
        co_await sleep_for(400ms);
        queued_while_stalled = subscription.queued_bytes();
        while (auto event = co_await subscription.next()) {
          if (auto* data = std::get_if<DataEvent>(&*event)) received += data->bytes.size();
          if (std::holds_alternative<EndEvent>(*event)) {
            Collected c;
            c.end = std::get<EndEvent>(*event);
            co_return c;
          }
        }
        co_return Collected{};
      }(),
      30s);
  EXPECT_GT(queued_while_stalled, Process::kHighWaterBytes / 2);
  EXPECT_LE(subscription.peak_queued_bytes(), Process::kHighWaterBytes + 2 * Process::kReadChunkBytes);
  EXPECT_EQ(received, kTotal);
  ASSERT_TRUE(rest.end);
  EXPECT_EQ(rest.end->exit_code, 0);
}

TEST_F(ProcessTest, OutputWithoutSubscribersIsDropped) {
  auto process = start(bash("yes | head -c 30000000"));
  EndEvent end = run(process->wait());
  EXPECT_EQ(end.exit_code, 0);
}

TEST_F(ProcessTest, DroppedSubscriberReleasesBackpressure) {
  auto process = start(bash("yes | head -c 20000000"));
  auto subscription = std::make_optional(process->subscribe());
  EndEvent end = run([&]() -> asio::awaitable<EndEvent> {
    co_await sleep_for(200ms);
    EXPECT_FALSE(process->finished());  // stalled by the unread subscription
    subscription.reset();               // a client disconnect: the process goes on
    co_return co_await process->wait();
  }());
  EXPECT_EQ(end.exit_code, 0);
}

TEST_F(ProcessTest, LateConnectGetsStartAndRetainedEndThenForgotten) {
  auto process = start(bash("exit 5"));
  std::uint32_t pid = process->pid();
  run(process->wait());
  auto found = table_.find(pid);
  ASSERT_TRUE(found);
  auto late = (*found)->subscribe();
  Collected c = run(collect(late));
  EXPECT_TRUE(c.start_first);
  EXPECT_EQ(c.start_pid, pid);
  ASSERT_TRUE(c.end);
  EXPECT_EQ(c.end->exit_code, 5);
  EXPECT_TRUE(table_.list().empty());

  run([]() -> asio::awaitable<bool> {
    co_await sleep_for(500ms);  // retention is 300 ms in this fixture
    co_return true;
  }());
  auto gone = table_.find(pid);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
}

TEST_F(ProcessTest, ListAndFindByTag) {
  StartSpec spec = bash("sleep 30");
  spec.tag = "my-tag";
  auto process = start(spec);
  auto listed = table_.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].pid, process->pid());
  EXPECT_EQ(listed[0].tag, "my-tag");
  EXPECT_EQ(listed[0].config.cmd, "/bin/bash");
  EXPECT_EQ(listed[0].config.args.at(1), "sleep 30");
  auto by_tag = table_.find_tag("my-tag");
  ASSERT_TRUE(by_tag);
  EXPECT_EQ((*by_tag)->pid(), process->pid());
  EXPECT_EQ(table_.start(spec).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(table_.find_tag("other").error().code, ErrorCode::kNotFound);
  table_.stop();
  EndEvent end = run(process->wait());
  EXPECT_EQ(end.status, "signal: killed");
}

TEST_F(ProcessTest, GrandchildHoldingThePipeDoesNotHoldTheEnd) {
  auto began = std::chrono::steady_clock::now();
  auto process = start(bash("sleep 20 & echo done"));
  auto subscription = process->subscribe();
  Collected c = run(collect(subscription));
  ::kill(-static_cast<pid_t>(process->pid()),
         SIGKILL);  // the orphaned sleep still leads nothing but its group
  EXPECT_EQ(c.out, "done\n");
  ASSERT_TRUE(c.end);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 4s);
}

TEST_F(ProcessTest, OrphanReaperTakesOrphansButNotOwnChildren) {
  // Become a subreaper so orphaned grandchildren are re-parented to this test, as they would be to PID 1.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  auto running = start(bash("sleep 30"));
  Collected c = run_to_end(bash("(sleep 0.1; exit 0) & disown; exit 0"));
  ASSERT_TRUE(c.end);
  std::size_t reaped = run([&]() -> asio::awaitable<std::size_t> {
    std::size_t total = 0;
    for (int i = 0; i < 40 && total == 0; ++i) {
      co_await sleep_for(50ms);
      total += table_.reap_orphans();
    }
    co_return total;
  }());
  EXPECT_GE(reaped, 1u);
  // The table's own running child was not touched: killing it still yields its real status.
  ASSERT_TRUE(running->signal(SIGTERM));
  EndEvent end = run(running->wait());
  EXPECT_EQ(end.status, "signal: terminated");
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
}

}  // namespace
}  // namespace cellblock::agent
