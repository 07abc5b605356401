// Drives a REAL ipykernel (Debian's /usr/bin/python3) through cellblock::jupyter::Kernel.

#include "jupyter/kernel.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include "jupyter/channels.h"

namespace cellblock::jupyter {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool python_has_ipykernel() {
  return std::system("/usr/bin/python3 -c 'import ipykernel' >/dev/null 2>&1") == 0;
}

// Collects the events of one execution and lets the test thread wait for ExecuteDone.
class Collector {
 public:
  EventSink sink() {
    return [this](ExecuteEvent&& event) {
      std::lock_guard lock(mutex_);
      if (done_) extra_after_done_ = true;
      if (std::holds_alternative<ExecuteDone>(event)) done_ = true;
      if (std::holds_alternative<ExecutionCount>(event)) saw_count_ = true;
      events_.push_back(std::move(event));
      changed_.notify_all();
    };
  }
  bool wait_done(std::chrono::milliseconds timeout = 20s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return done_; });
  }
  bool wait_started(std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [this] { return saw_count_ || done_; });
  }
  std::vector<ExecuteEvent> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }
  bool extra_after_done() {
    std::lock_guard lock(mutex_);
    return extra_after_done_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ExecuteEvent> events_;
  bool done_ = false;
  bool saw_count_ = false;
  bool extra_after_done_ = false;
};

struct Outcome {
  std::vector<ExecuteEvent> events;
  ExecuteDone done;
  std::string stdout_text;
  std::string stderr_text;
  std::optional<ExecuteError> error;
  std::optional<int> count;
  std::vector<DisplayOutput> displays;
};

Outcome summarize(std::vector<ExecuteEvent> events) {
  Outcome outcome;
  for (const auto& event : events) {
    if (auto* stream = std::get_if<StreamOutput>(&event)) {
      (stream->is_stderr ? outcome.stderr_text : outcome.stdout_text) += stream->text;
    } else if (auto* error = std::get_if<ExecuteError>(&event)) {
      outcome.error = *error;
    } else if (auto* count = std::get_if<ExecutionCount>(&event)) {
      outcome.count = count->count;
    } else if (auto* display = std::get_if<DisplayOutput>(&event)) {
      outcome.displays.push_back(*display);
    } else if (auto* done = std::get_if<ExecuteDone>(&event)) {
      outcome.done = *done;
    }
  }
  outcome.events = std::move(events);
  return outcome;
}

Outcome run(Kernel& kernel, const std::string& code, ExecuteOptions options = {}) {
  Collector collector;
  auto started = kernel.execute(code, options, collector.sink());
  EXPECT_TRUE(started) << started.error().message;
  EXPECT_TRUE(collector.wait_done()) << "no ExecuteDone for: " << code;
  EXPECT_FALSE(collector.extra_after_done());
  auto events = collector.events();
  EXPECT_FALSE(events.empty());
  if (!events.empty()) {
    EXPECT_TRUE(std::holds_alternative<ExecuteDone>(events.back()));
  }
  return summarize(std::move(events));
}

std::string plain_text(const Outcome& outcome) {
  for (const auto& display : outcome.displays) {
    if (display.is_execute_result && display.data.contains("text/plain")) {
      return std::string(display.data.at("text/plain").as_string());
    }
  }
  return "<no execute_result>";
}

class JupyterKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!python_has_ipykernel()) GTEST_SKIP() << "/usr/bin/python3 has no ipykernel";
    runtime_dir_ = std::filesystem::temp_directory_path() /
                   ("cellblock-jupyter-test-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(runtime_dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir_, ec);
  }

  KernelOptions options() const {
    KernelOptions options;
    options.argv = python_kernel_argv();
    options.runtime_dir = runtime_dir_.string();
    options.cwd = runtime_dir_.string();
    return options;
  }

  std::unique_ptr<Kernel> start(KernelOptions options) {
    auto kernel = Kernel::start(std::move(options));
    EXPECT_TRUE(kernel) << kernel.error().message;
    return kernel ? std::move(*kernel) : nullptr;
  }

  std::filesystem::path runtime_dir_;
};

TEST_F(JupyterKernel, PrintAndExpression) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  EXPECT_GT(kernel->pid(), 0);
  EXPECT_EQ(kernel->kernel_info().at("language_info").at("name").as_string(), "python");

  auto outcome = run(*kernel, "print(\"hi\"); 1+1");
  ASSERT_EQ(outcome.events.size(), 4u);
  ASSERT_TRUE(std::holds_alternative<ExecutionCount>(outcome.events[0]));
  EXPECT_EQ(std::get<ExecutionCount>(outcome.events[0]).count, 1);
  ASSERT_TRUE(std::holds_alternative<StreamOutput>(outcome.events[1]));
  EXPECT_FALSE(std::get<StreamOutput>(outcome.events[1]).is_stderr);
  EXPECT_EQ(std::get<StreamOutput>(outcome.events[1]).text, "hi\n");
  ASSERT_TRUE(std::holds_alternative<DisplayOutput>(outcome.events[2]));
  const auto& result = std::get<DisplayOutput>(outcome.events[2]);
  EXPECT_TRUE(result.is_execute_result);
  EXPECT_EQ(result.data.at("text/plain").as_string(), "2");
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kOk);
  EXPECT_FALSE(kernel->busy());

  auto second = run(*kernel, "import sys; print('err', file=sys.stderr)");
  EXPECT_EQ(second.count, 2);
  EXPECT_EQ(second.stderr_text, "err\n");
}

TEST_F(JupyterKernel, ExceptionHasPlainTraceback) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  auto outcome = run(*kernel, "def f(x):\n    return 1/x\nf(0)");
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kError);
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->ename, "ZeroDivisionError");
  EXPECT_EQ(outcome.error->evalue, "division by zero");
  ASSERT_FALSE(outcome.error->traceback.empty());
  std::string traceback;
  for (const auto& line : outcome.error->traceback) traceback += line + "\n";
  EXPECT_EQ(traceback.find('\x1b'), std::string::npos) << traceback;
  EXPECT_NE(traceback.find("ZeroDivisionError"), std::string::npos);
  // Exactly one error event: the reply's copy is not repeated.
  EXPECT_EQ(std::count_if(outcome.events.begin(), outcome.events.end(),
                          [](const auto& e) { return std::holds_alternative<ExecuteError>(e); }),
            1);
}

TEST_F(JupyterKernel, InputNeverHangs) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  auto started = Clock::now();
  auto outcome = run(*kernel, "input('name? ')");
  EXPECT_LT(Clock::now() - started, 5s);
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->ename, "StdinNotImplementedError");
  kernel.reset();

  // With stdin allowed, every input_request is answered at once with "".
  auto with_stdin = options();
  with_stdin.allow_stdin = true;
  kernel = start(with_stdin);
  ASSERT_TRUE(kernel);
  outcome = run(*kernel, "answer = input('name? ')\nprint(repr(answer))");
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kOk);
  EXPECT_EQ(outcome.stdout_text, "''\n");  // the prompt goes to the frontend, not to stdout
}

TEST_F(JupyterKernel, InterruptKeepsStateAndBusyConflicts) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  run(*kernel, "x = 41");

  Collector collector;
  ASSERT_TRUE(kernel->execute("import time; time.sleep(30)", {}, collector.sink()));
  EXPECT_TRUE(kernel->busy());
  auto conflict = kernel->execute("1", {}, [](ExecuteEvent&&) {});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);

  ASSERT_TRUE(collector.wait_started());
  std::this_thread::sleep_for(100ms);  // let the cell reach time.sleep
  auto interrupted_at = Clock::now();
  kernel->interrupt();
  ASSERT_TRUE(collector.wait_done(5s));
  EXPECT_LT(Clock::now() - interrupted_at, 2s);
  auto outcome = summarize(collector.events());
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kError);
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->ename, "KeyboardInterrupt");

  EXPECT_EQ(plain_text(run(*kernel, "x + 1")), "42");
}

TEST_F(JupyterKernel, InterruptIgnoredPastDeadlineRestartsKernel) {
  auto opts = options();
  opts.interrupt_deadline = 500ms;
  auto kernel = start(opts);
  ASSERT_TRUE(kernel);
  run(*kernel, "x = 1");
  const int old_pid = kernel->pid();

  Collector collector;
  ASSERT_TRUE(
      kernel->execute("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(30)", {},
                      collector.sink()));
  ASSERT_TRUE(collector.wait_started());
  std::this_thread::sleep_for(200ms);
  kernel->interrupt();
  ASSERT_TRUE(collector.wait_done(5s));
  auto outcome = summarize(collector.events());
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kKernelRestarted) << outcome.done.detail;

  auto after = run(*kernel, "1+1");  // waits for the new kernel to be ready
  EXPECT_EQ(plain_text(after), "2");
  EXPECT_EQ(after.count, 1);
  EXPECT_NE(kernel->pid(), old_pid);
  EXPECT_EQ(run(*kernel, "x").error.value_or(ExecuteError{}).ename, "NameError");
}

TEST_F(JupyterKernel, RestartLosesState) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  run(*kernel, "y = 1");
  const int old_pid = kernel->pid();
  auto restarted = kernel->restart();
  ASSERT_TRUE(restarted) << restarted.error().message;
  EXPECT_NE(kernel->pid(), old_pid);
  EXPECT_NE(::kill(old_pid, 0), 0);  // the old process is gone (and reaped)
  auto outcome = run(*kernel, "y");
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->ename, "NameError");
  EXPECT_EQ(outcome.count, 1);
}

TEST_F(JupyterKernel, KernelDeathIsReportedAndKernelComesBack) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  auto outcome = run(*kernel, "import os; os._exit(1)");
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kKernelDied);
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.error->ename, "KernelDied");
  EXPECT_NE(outcome.error->evalue.find("exit status 1"), std::string::npos) << outcome.error->evalue;

  auto next = run(*kernel, "1+1");
  EXPECT_EQ(next.done.status, ExecuteDone::Status::kOk);
  EXPECT_EQ(plain_text(next), "2");
  EXPECT_EQ(next.count, 1);
}

TEST_F(JupyterKernel, SilentExecutionHasNoCount) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  ExecuteOptions silent;
  silent.silent = true;
  auto outcome = run(*kernel, "z = 5\nprint('quiet')\nz", silent);
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kOk);
  EXPECT_FALSE(outcome.count);
  EXPECT_TRUE(outcome.displays.empty());  // no execute_result for silent cells
  EXPECT_EQ(outcome.stdout_text, "quiet\n");
  auto next = run(*kernel, "z");
  EXPECT_EQ(next.count, 1);  // the silent cell did not count
  EXPECT_EQ(plain_text(next), "5");
}

TEST_F(JupyterKernel, SpawnEnvironment) {
  // The I/O thread (and so the kernel) would inherit this thread's mask and the process's ignored signals.
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigset_t old_mask;
  pthread_sigmask(SIG_BLOCK, &usr2, &old_mask);
  auto old_handler = ::signal(SIGUSR2, SIG_IGN);
  ::setenv("MPLBACKEND", "Agg", 1);

  auto opts = options();
  opts.env = {{"CELLBLOCK_TEST_VAR", "yes"}};
  auto kernel = start(opts);

  ::unsetenv("MPLBACKEND");
  ::signal(SIGUSR2, old_handler);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ASSERT_TRUE(kernel);

  auto outcome = run(
      *kernel,
      "import os, signal\n"
      "print(os.getcwd())\n"
      "print(os.environ.get('CELLBLOCK_TEST_VAR'), os.environ.get('JPY_PARENT_PID'),\n"
      "      os.environ.get('PYDEVD_DISABLE_FILE_VALIDATION'), os.environ.get('MPLBACKEND'))\n"
      "print(os.getsid(0) == os.getpid(), signal.SIGUSR2 in signal.pthread_sigmask(signal.SIG_BLOCK, []),\n"
      "      signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL)\n"
      "print(sorted(os.listdir('/proc/self/fd')) == ['0', '1', '2'] or sorted(os.listdir('/proc/self/fd')))");
  std::istringstream lines(outcome.stdout_text);
  std::string cwd, env, signals, fds;
  std::getline(lines, cwd);
  std::getline(lines, env);
  std::getline(lines, signals);
  std::getline(lines, fds);
  EXPECT_EQ(std::filesystem::path(cwd), std::filesystem::canonical(runtime_dir_));
  EXPECT_EQ(env, "yes " + std::to_string(::getpid()) + " 1 module://matplotlib_inline.backend_inline") << env;
  EXPECT_EQ(signals, "True False True");
  EXPECT_FALSE(fds.empty());

  struct stat info {};
  ASSERT_EQ(::stat(kernel->connection_file().c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600);
  EXPECT_TRUE(std::filesystem::exists(kernel->log_file()));
  const std::string connection_file = kernel->connection_file();
  kernel.reset();
  EXPECT_FALSE(std::filesystem::exists(connection_file));
}

// Output that arrives after reply + idle but within late_output_grace still belongs to the execution (Deno
// does this; here a Python timer thread prints after the cell has ended).
TEST_F(JupyterKernel, LateOutputGraceCollectsOutputAfterIdle) {
  auto opts = options();
  opts.late_output_grace = 600ms;
  auto kernel = start(opts);
  ASSERT_TRUE(kernel);
  auto outcome = run(*kernel,
                     "import sys, threading\n"
                     "def late():\n    print('late'); sys.stdout.flush()\n"
                     "threading.Timer(0.05, late).start()\n"
                     "print('now')");
  EXPECT_EQ(outcome.done.status, ExecuteDone::Status::kOk);
  EXPECT_EQ(outcome.stdout_text, "now\nlate\n");
}

TEST_F(JupyterKernel, StartFailures) {
  auto missing = options();
  missing.argv = {"/nonexistent/kernel", "{connection_file}"};
  auto kernel = Kernel::start(missing);
  ASSERT_FALSE(kernel);
  EXPECT_NE(kernel.error().message.find("/nonexistent/kernel"), std::string::npos) << kernel.error().message;

  auto exits = options();
  exits.argv = {"/bin/sh", "-c", "echo broken >&2; exit 3", "{connection_file}"};
  auto started = Clock::now();
  kernel = Kernel::start(exits);
  ASSERT_FALSE(kernel);
  EXPECT_LT(Clock::now() - started, 5s);
  EXPECT_NE(kernel.error().message.find("exit status 3"), std::string::npos) << kernel.error().message;
}

TEST_F(JupyterKernel, DestructionEndsRunningExecution) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);
  Collector collector;
  ASSERT_TRUE(kernel->execute("import time; time.sleep(30)", {}, collector.sink()));
  ASSERT_TRUE(collector.wait_started());
  const int pid = kernel->pid();
  auto started = Clock::now();
  kernel.reset();
  EXPECT_LT(Clock::now() - started, 3s);
  ASSERT_TRUE(collector.wait_done(0ms));
  EXPECT_EQ(summarize(collector.events()).done.status, ExecuteDone::Status::kAborted);
  EXPECT_NE(::kill(pid, 0), 0);
}

// The round trip of `1+1` through Kernel against a bare client on the same kernel (same frames, blocking poll
// on two sockets): the difference is what the I/O thread, the command queue and the event sink add.
TEST_F(JupyterKernel, RoundTripLatency) {
  auto kernel = start(options());
  ASSERT_TRUE(kernel);

  std::ifstream file(kernel->connection_file());
  std::stringstream text;
  text << file.rdbuf();
  auto json = boost::json::parse(text.str()).as_object();
  ConnectionInfo info;
  info.key = std::string(json.at("key").as_string());
  info.shell_port = static_cast<int>(json.at("shell_port").as_int64());
  info.iopub_port = static_cast<int>(json.at("iopub_port").as_int64());
  info.stdin_port = static_cast<int>(json.at("stdin_port").as_int64());
  info.control_port = static_cast<int>(json.at("control_port").as_int64());
  zmq::context_t context(1);
  auto raw = Channels::connect(context, info, "raw-client");
  ASSERT_TRUE(raw);
  Session raw_session("raw-client");
  std::this_thread::sleep_for(300ms);  // the raw SUB's subscription must propagate

  auto raw_round_trip = [&]() -> double {
    Message request = raw_session.make("execute_request", execute_request_content("1+1", false, true, false));
    auto begin = Clock::now();
    EXPECT_TRUE((*raw)->send(Channel::kShell, request));
    bool reply = false, idle = false;
    while (!(reply && idle)) {
      zmq_pollitem_t items[] = {{(*raw)->handle(Channel::kShell), 0, ZMQ_POLLIN, 0},
                                {(*raw)->handle(Channel::kIopub), 0, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 2, 5000) <= 0) return 1e9;
      auto handle = [&](Result<Message> m) {
        if (!m || m->parent_msg_id != request.msg_id) return;
        if (m->msg_type == "execute_reply") reply = true;
        if (m->msg_type == "status" && string_field(m->content, "execution_state") == "idle") idle = true;
      };
      (*raw)->drain(Channel::kShell, handle);
      (*raw)->drain(Channel::kIopub, handle);
    }
    return std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
  };
  auto ours_round_trip = [&]() -> double {
    Collector collector;
    auto begin = Clock::now();
    EXPECT_TRUE(kernel->execute("1+1", {}, collector.sink()));
    EXPECT_TRUE(collector.wait_done(5s));
    return std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
  };

  for (int i = 0; i < 5; ++i) {  // warm up both paths
    ours_round_trip();
    raw_round_trip();
  }
  std::vector<double> ours, bare;
  for (int i = 0; i < 50; ++i) {
    ours.push_back(ours_round_trip());
    bare.push_back(raw_round_trip());
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  const double ours_median = median(ours), bare_median = median(bare);
  std::cout << "1+1 round trip over 50 runs: Kernel median " << ours_median << " ms (min "
            << *std::min_element(ours.begin(), ours.end()) << "), bare client median " << bare_median
            << " ms (min " << *std::min_element(bare.begin(), bare.end()) << ")\n";
  RecordProperty("kernel_median_ms", std::to_string(ours_median));
  RecordProperty("bare_median_ms", std::to_string(bare_median));
  // Generous bound for a shared 2-core machine; the report quotes the measured difference.
  EXPECT_LT(ours_median - bare_median, 2.0);
}

}  // namespace
}  // namespace cellblock::jupyter
