#include "jupyter/kernel.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/encoding.h"
#include "jupyter/channels.h"
#include "jupyter/connection.h"
#include "jupyter/execution.h"
#include "jupyter/kernel_process.h"

namespace cellblock::jupyter {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kKernelInfoInterval{100};
constexpr milliseconds kShutdownWait{1000};    // ipykernel exits ~250 ms after shutdown_request
constexpr milliseconds kTerminateGrace{1000};  // SIGTERM → SIGKILL

}  // namespace

std::vector<std::string> python_kernel_argv() {
  return {"/usr/bin/python3",
          "-m",
          "ipykernel_launcher",
          "-f",
          "{connection_file}",
          "--matplotlib=inline",
          "--InteractiveShell.colors=NoColor",
          "--PlainTextFormatter.max_seq_length=0"};
}

class Kernel::Impl {
 public:
  explicit Impl(KernelOptions options) : options_(std::move(options)), session_(random_hex(16)) {}
  ~Impl();

  Status start();
  Status execute(std::string code, ExecuteOptions options, EventSink sink);
  void interrupt() { post(InterruptCommand{}); }
  Status restart();
  bool busy() const { return busy_.load(); }
  int pid() const { return pid_.load(); }
  boost::json::object kernel_info() const {
    std::lock_guard lock(info_mutex_);
    return kernel_info_;
  }
  const std::string& connection_file() const { return connection_file_; }
  const std::string& log_file() const { return log_file_; }

 private:
  enum class Phase { kStarting, kReady, kFailed, kStopped };

  struct ExecuteCommand {
    std::string code;
    ExecuteOptions options;
    EventSink sink;
  };
  struct InterruptCommand {};
  struct RestartCommand {
    std::shared_ptr<std::promise<Status>> done;
  };
  struct StopCommand {};
  using Command = std::variant<ExecuteCommand, InterruptCommand, RestartCommand, StopCommand>;

  // Any thread.
  void post(Command command);

  // I/O thread only, from here on.
  void run();
  void poll_once();
  int poll_timeout_ms() const;
  void drain(Channel channel);
  void drain_all();
  void run_commands();
  void run_timers();

  void launch();
  void fail_startup(const Error& error);
  void become_ready();
  void resolve_ready_waiters(const Status& status);
  void stop_process(bool graceful);
  void relaunch_after_kill(ExecuteDone::Status status, const std::string& detail);
  void on_process_exit();

  void on_execute(ExecuteCommand command);
  void on_interrupt();
  void on_restart(RestartCommand command);
  void on_stop();
  void send_execute(ExecuteCommand command);
  void send_kernel_info();

  void on_shell(const Message& message);
  void on_iopub(const Message& message);
  void on_stdin(const Message& message);
  void on_control(const Message& message);
  void check_complete();
  void complete_current();
  void end_current(ExecuteDone::Status status, std::string detail, std::optional<ExecuteError> error = {});
  void end_pending(ExecuteDone::Status status, std::string detail, std::optional<ExecuteError> error = {});

  const KernelOptions options_;
  ConnectionInfo connection_;
  std::string connection_file_;
  std::string log_file_;
  SpawnOptions spawn_options_;

  // Shared between threads.
  int eventfd_ = -1;
  std::mutex commands_mutex_;
  std::deque<Command> commands_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> failed_{false};
  std::atomic<int> pid_{0};
  mutable std::mutex info_mutex_;
  boost::json::object kernel_info_;
  std::thread thread_;

  // Owned by the I/O thread once it runs. The context outlives the sockets.
  Session session_;
  zmq::context_t context_{1};
  std::unique_ptr<Channels> channels_;
  std::optional<KernelProcess> process_;
  Phase phase_ = Phase::kStarting;
  bool stopped_ = false;
  Clock::time_point ready_deadline_;
  Clock::time_point next_kernel_info_;
  bool got_kernel_info_ = false;
  bool got_iopub_ = false;
  std::vector<std::shared_ptr<std::promise<Status>>> ready_waiters_;
  std::optional<ExecuteCommand> pending_;  // accepted while the kernel (re)starts
  std::optional<Execution> current_;
  std::optional<Clock::time_point> interrupt_deadline_;
  std::optional<Clock::time_point> grace_deadline_;
};

// ---- caller side
// --------------------------------------------------------------------------------------------------

Status Kernel::Impl::start() {
  if (options_.argv.empty()) return fail(ErrorCode::kInvalidArgument, "kernel argv is empty");
  std::error_code ec;
  std::filesystem::path dir = options_.runtime_dir.empty() ? std::filesystem::temp_directory_path(ec)
                                                           : std::filesystem::path(options_.runtime_dir);
  std::filesystem::create_directories(dir, ec);
  if (ec) return tl::unexpected(system_error("create kernel runtime dir " + dir.string(), ec.value()));

  auto connection = make_connection_info();
  if (!connection) return tl::unexpected(connection.error());
  connection_ = std::move(*connection);
  connection_file_ = (dir / ("kernel-" + session_.id() + ".json")).string();
  log_file_ = (dir / ("kernel-" + session_.id() + ".log")).string();
  if (auto written = write_connection_file(connection_, connection_file_); !written) return written;

  spawn_options_.argv = substitute_connection_file(options_.argv, connection_file_);
  spawn_options_.env = options_.env;
  spawn_options_.cwd = options_.cwd;
  spawn_options_.log_path = log_file_;

  eventfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (eventfd_ < 0) return tl::unexpected(system_error("eventfd", errno));

  auto ready = std::make_shared<std::promise<Status>>();
  auto ready_future = ready->get_future();
  ready_waiters_.push_back(std::move(ready));  // before the thread exists: no race
  thread_ = std::thread([this] { run(); });
  return ready_future.get();
}

Kernel::Impl::~Impl() {
  if (thread_.joinable()) {
    post(StopCommand{});
    thread_.join();
  }
  if (eventfd_ >= 0) ::close(eventfd_);
  if (!connection_file_.empty()) ::unlink(connection_file_.c_str());
}

void Kernel::Impl::post(Command command) {
  {
    std::lock_guard lock(commands_mutex_);
    commands_.push_back(std::move(command));
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(eventfd_, &one, sizeof(one));
}

Status Kernel::Impl::execute(std::string code, ExecuteOptions options, EventSink sink) {
  if (failed_.load()) {
    return fail(ErrorCode::kUnavailable, "the kernel is not running (it failed to start); restart it");
  }
  bool idle = false;
  if (!busy_.compare_exchange_strong(idle, true)) {
    return fail(ErrorCode::kConflict, "an execution is already running on this kernel");
  }
  post(ExecuteCommand{std::move(code), options, std::move(sink)});
  return {};
}

Status Kernel::Impl::restart() {
  if (std::this_thread::get_id() == thread_.get_id()) {
    return fail(ErrorCode::kInternal, "Kernel::restart called from the kernel's own I/O thread");
  }
  auto done = std::make_shared<std::promise<Status>>();
  auto future = done->get_future();
  post(RestartCommand{std::move(done)});
  return future.get();
}

// ---- I/O thread: loop
// ---------------------------------------------------------------------------------------------

void Kernel::Impl::run() {
  launch();
  while (!stopped_) poll_once();
}

int Kernel::Impl::poll_timeout_ms() const {
  std::optional<Clock::time_point> next;
  auto consider = [&next](Clock::time_point at) { next = next ? std::min(*next, at) : at; };
  if (phase_ == Phase::kStarting) {
    consider(ready_deadline_);
    consider(next_kernel_info_);
  }
  if (interrupt_deadline_) consider(*interrupt_deadline_);
  if (grace_deadline_) consider(*grace_deadline_);
  if (!next) return -1;
  auto left = std::chrono::ceil<milliseconds>(*next - Clock::now()).count();
  return static_cast<int>(std::max<std::int64_t>(left, 0));
}

void Kernel::Impl::poll_once() {
  constexpr std::array kChannels = {Channel::kShell, Channel::kIopub, Channel::kStdin, Channel::kControl};
  std::array<zmq_pollitem_t, 6> items{};
  std::size_t count = 0;
  items[count++] = {nullptr, eventfd_, ZMQ_POLLIN, 0};
  if (channels_) {
    for (Channel channel : kChannels) items[count++] = {channels_->handle(channel), 0, ZMQ_POLLIN, 0};
  }
  const std::size_t pidfd_index = count;
  if (process_) items[count++] = {nullptr, process_->pidfd(), ZMQ_POLLIN, 0};

  if (zmq_poll(items.data(), static_cast<int>(count), poll_timeout_ms()) < 0) {
    if (zmq_errno() != EINTR) spdlog::error("kernel I/O poll failed: {}", zmq_strerror(zmq_errno()));
    return;
  }
  if (channels_) {
    for (std::size_t i = 0; i < kChannels.size(); ++i) {
      if (items[1 + i].revents & ZMQ_POLLIN) drain(kChannels[i]);
    }
  }
  if (pidfd_index < count && (items[pidfd_index].revents & ZMQ_POLLIN) && process_) on_process_exit();
  if (items[0].revents & ZMQ_POLLIN) run_commands();
  run_timers();
}

void Kernel::Impl::drain(Channel channel) {
  channels_->drain(channel, [this, channel](Result<Message> message) {
    if (!message) {
      spdlog::warn("kernel {}: dropped a message: {}", pid_.load(), message.error().message);
      return;
    }
    switch (channel) {
      case Channel::kShell:
        on_shell(*message);
        break;
      case Channel::kIopub:
        on_iopub(*message);
        break;
      case Channel::kStdin:
        on_stdin(*message);
        break;
      case Channel::kControl:
        on_control(*message);
        break;
    }
  });
}

void Kernel::Impl::drain_all() {
  for (Channel channel : {Channel::kShell, Channel::kIopub, Channel::kStdin, Channel::kControl}) {
    if (channels_) drain(channel);
  }
}

void Kernel::Impl::run_commands() {
  std::uint64_t value = 0;
  [[maybe_unused]] auto read = ::read(eventfd_, &value, sizeof(value));
  std::deque<Command> commands;
  {
    std::lock_guard lock(commands_mutex_);
    commands.swap(commands_);
  }
  for (auto& command : commands) {
    if (stopped_) break;
    std::visit(
        [this](auto&& c) {
          using T = std::decay_t<decltype(c)>;
          if constexpr (std::is_same_v<T, ExecuteCommand>) on_execute(std::move(c));
          if constexpr (std::is_same_v<T, InterruptCommand>) on_interrupt();
          if constexpr (std::is_same_v<T, RestartCommand>) on_restart(std::move(c));
          if constexpr (std::is_same_v<T, StopCommand>) on_stop();
        },
        command);
  }
}

void Kernel::Impl::run_timers() {
  const auto now = Clock::now();
  if (phase_ == Phase::kStarting) {
    if (now >= ready_deadline_) {
      fail_startup(Error{ErrorCode::kDeadlineExceeded, "the kernel was not ready within " +
                                                           std::to_string(options_.ready_timeout.count()) +
                                                           " ms; see " + log_file_});
    } else if (now >= next_kernel_info_) {
      send_kernel_info();
    }
  }
  if (interrupt_deadline_ && now >= *interrupt_deadline_) {
    spdlog::warn("kernel {}: interrupt did not end the execution in time; restarting", pid_.load());
    relaunch_after_kill(ExecuteDone::Status::kKernelRestarted,
                        "the execution did not stop within " +
                            std::to_string(options_.interrupt_deadline.count()) +
                            " ms of the interrupt; the kernel was restarted and its state is lost");
  }
  if (grace_deadline_ && now >= *grace_deadline_) complete_current();
}

// ---- I/O thread: process life cycle
// -------------------------------------------------------------------------------

void Kernel::Impl::launch() {
  channels_.reset();  // fresh sockets: nothing queued for (or received from) an earlier process survives
  auto process = KernelProcess::spawn(spawn_options_);
  if (!process) {
    fail_startup(process.error());
    return;
  }
  process_.emplace(std::move(*process));
  pid_ = process_->pid();
  auto channels = Channels::connect(context_, connection_, session_.id());
  if (!channels) {
    fail_startup(channels.error());
    return;
  }
  channels_ = std::move(*channels);
  phase_ = Phase::kStarting;
  got_kernel_info_ = false;
  got_iopub_ = false;
  ready_deadline_ = Clock::now() + options_.ready_timeout;
  send_kernel_info();
}

void Kernel::Impl::send_kernel_info() {
  next_kernel_info_ = Clock::now() + kKernelInfoInterval;
  if (auto sent = channels_->send(Channel::kShell, session_.make("kernel_info_request", {})); !sent) {
    spdlog::warn("kernel {}: kernel_info_request: {}", pid_.load(), sent.error().message);
  }
}

void Kernel::Impl::fail_startup(const Error& error) {
  spdlog::error("kernel failed to start: {}", error.message);
  stop_process(false);
  phase_ = Phase::kFailed;
  failed_ = true;
  resolve_ready_waiters(tl::unexpected(error));
  end_pending(ExecuteDone::Status::kKernelDied, error.message, ExecuteError{"KernelDied", error.message, {}});
}

void Kernel::Impl::become_ready() {
  phase_ = Phase::kReady;
  failed_ = false;
  resolve_ready_waiters({});
  if (pending_) {
    ExecuteCommand command = std::move(*pending_);
    pending_.reset();
    send_execute(std::move(command));
  }
}

void Kernel::Impl::resolve_ready_waiters(const Status& status) {
  for (auto& waiter : ready_waiters_) waiter->set_value(status);
  ready_waiters_.clear();
}

void Kernel::Impl::stop_process(bool graceful) {
  if (process_ && graceful && channels_ && phase_ == Phase::kReady) {
    auto shutdown = session_.make("shutdown_request", {{"restart", false}});
    if (channels_->send(Channel::kControl, shutdown) && process_->wait_exit(kShutdownWait)) {
      process_.reset();
    }
  }
  if (process_) process_->terminate(graceful ? kTerminateGrace : milliseconds(0));
  process_.reset();
  pid_ = 0;
  channels_.reset();
}

void Kernel::Impl::relaunch_after_kill(ExecuteDone::Status status, const std::string& detail) {
  stop_process(false);
  end_current(status, detail);
  launch();
}

void Kernel::Impl::on_process_exit() {
  drain_all();  // messages that arrived before the exit still count
  const std::string how = process_->reap();
  process_.reset();
  pid_ = 0;
  if (phase_ == Phase::kStarting) {
    fail_startup(
        Error{ErrorCode::kUnavailable, "the kernel exited during start-up (" + how + "); see " + log_file_});
    return;
  }
  spdlog::warn("kernel exited unexpectedly ({}); restarting it", how);
  const std::string detail =
      "the kernel process exited (" + how + "); it was restarted and its state is lost";
  end_current(ExecuteDone::Status::kKernelDied, detail, ExecuteError{"KernelDied", detail, {}});
  launch();
}

// ---- I/O thread: commands
// -----------------------------------------------------------------------------------------

void Kernel::Impl::on_execute(ExecuteCommand command) {
  if (phase_ == Phase::kStarting) {
    pending_ = std::move(command);
    return;
  }
  if (phase_ != Phase::kReady) {
    pending_ = std::move(command);
    end_pending(ExecuteDone::Status::kKernelDied, "the kernel is not running",
                ExecuteError{"KernelDied", "the kernel is not running", {}});
    return;
  }
  send_execute(std::move(command));
}

void Kernel::Impl::send_execute(ExecuteCommand command) {
  Message request = session_.make(
      "execute_request", execute_request_content(command.code, command.options.silent,
                                                 command.options.store_history, options_.allow_stdin));
  current_.emplace(request.msg_id, command.options.silent, std::move(command.sink));
  interrupt_deadline_.reset();
  grace_deadline_.reset();
  if (auto sent = channels_->send(Channel::kShell, request); !sent) {
    end_current(ExecuteDone::Status::kAborted, sent.error().message,
                ExecuteError{"KernelError", sent.error().message, {}});
  }
}

void Kernel::Impl::on_interrupt() {
  if (pending_) {
    end_pending(ExecuteDone::Status::kAborted, "interrupted before it started");
    return;
  }
  if (!current_ || current_->complete() || phase_ != Phase::kReady) return;
  if (options_.interrupt_by_message) {
    if (auto sent = channels_->send(Channel::kControl, session_.make("interrupt_request", {})); !sent) {
      spdlog::warn("kernel {}: interrupt_request: {}", pid_.load(), sent.error().message);
    }
  } else if (auto signaled = process_->interrupt(); !signaled) {
    spdlog::warn("kernel {}: {}", pid_.load(), signaled.error().message);
  }
  if (!interrupt_deadline_) interrupt_deadline_ = Clock::now() + options_.interrupt_deadline;
}

void Kernel::Impl::on_restart(RestartCommand command) {
  ready_waiters_.push_back(std::move(command.done));
  stop_process(/*graceful=*/!current_);  // a busy kernel may be stuck: do not wait for it
  end_current(ExecuteDone::Status::kKernelRestarted, "the kernel was restarted; its state is lost");
  launch();  // a pending execution stays queued and runs on the new kernel
}

void Kernel::Impl::on_stop() {
  const bool was_busy = current_.has_value();
  end_current(ExecuteDone::Status::kAborted, "the kernel was shut down");
  end_pending(ExecuteDone::Status::kAborted, "the kernel was shut down");
  resolve_ready_waiters(fail(ErrorCode::kCanceled, "the kernel was shut down"));
  stop_process(/*graceful=*/!was_busy);
  phase_ = Phase::kStopped;
  stopped_ = true;
}

// ---- I/O thread: messages
// -----------------------------------------------------------------------------------------

void Kernel::Impl::on_shell(const Message& message) {
  if (message.msg_type == "kernel_info_reply") {
    {
      std::lock_guard lock(info_mutex_);
      kernel_info_ = message.content;
    }
    if (phase_ == Phase::kStarting) {
      got_kernel_info_ = true;
      if (got_iopub_) become_ready();
    }
    return;
  }
  if (message.msg_type == "execute_reply" && current_ &&
      message.parent_msg_id == current_->request_msg_id()) {
    current_->on_reply(message);
    check_complete();
  }
}

void Kernel::Impl::on_iopub(const Message& message) {
  if (phase_ == Phase::kStarting) {
    got_iopub_ = true;  // the subscription has propagated (slow joiner)
    if (got_kernel_info_) become_ready();
    return;
  }
  // Other parents: status of readiness requests, late output of earlier cells.
  if (current_ && message.parent_msg_id == current_->request_msg_id()) {
    current_->on_iopub(message);
    check_complete();
  }
}

void Kernel::Impl::on_stdin(const Message& message) {
  if (message.msg_type != "input_request") return;
  // No interactive input exists here; answering at once means no kernel can hang waiting for it.
  boost::json::object content{{"value", ""}};
  if (auto sent =
          channels_->send(Channel::kStdin, session_.make("input_reply", std::move(content), message.header));
      !sent) {
    spdlog::warn("kernel {}: input_reply: {}", pid_.load(), sent.error().message);
  }
}

void Kernel::Impl::on_control(const Message& message) {
  if (message.msg_type == "interrupt_reply" && string_field(message.content, "status") == "error") {
    spdlog::warn("kernel {}: interrupt_request failed", pid_.load());
  }
}

void Kernel::Impl::check_complete() {
  if (!current_ || !current_->complete() || grace_deadline_) return;
  if (options_.late_output_grace.count() <= 0) {
    complete_current();
  } else {
    grace_deadline_ = Clock::now() + options_.late_output_grace;  // late iopub output still reaches current_
  }
}

void Kernel::Impl::complete_current() {
  if (!current_) return;
  Execution execution = std::move(*current_);
  current_.reset();
  interrupt_deadline_.reset();
  grace_deadline_.reset();
  busy_ = false;  // before the final events, so that the sink may start the next execution
  execution.finish();
}

void Kernel::Impl::end_current(ExecuteDone::Status status, std::string detail,
                               std::optional<ExecuteError> error) {
  if (!current_) return;
  Execution execution = std::move(*current_);
  current_.reset();
  interrupt_deadline_.reset();
  grace_deadline_.reset();
  busy_ = false;
  execution.end(status, std::move(detail), std::move(error));
}

void Kernel::Impl::end_pending(ExecuteDone::Status status, std::string detail,
                               std::optional<ExecuteError> error) {
  if (!pending_) return;
  Execution execution("", pending_->options.silent, std::move(pending_->sink));
  pending_.reset();
  busy_ = false;
  execution.end(status, std::move(detail), std::move(error));
}

// ---- Kernel
// -------------------------------------------------------------------------------------------------------

Kernel::Kernel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Kernel::~Kernel() = default;

Result<std::unique_ptr<Kernel>> Kernel::start(KernelOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto started = impl->start(); !started) return tl::unexpected(started.error());
  return std::unique_ptr<Kernel>(new Kernel(std::move(impl)));
}

Status Kernel::execute(std::string code, ExecuteOptions options, EventSink sink) {
  return impl_->execute(std::move(code), options, std::move(sink));
}
void Kernel::interrupt() {
  impl_->interrupt();
}
Status Kernel::restart() {
  return impl_->restart();
}
bool Kernel::busy() const {
  return impl_->busy();
}
int Kernel::pid() const {
  return impl_->pid();
}
boost::json::object Kernel::kernel_info() const {
  return impl_->kernel_info();
}
const std::string& Kernel::connection_file() const {
  return impl_->connection_file();
}
const std::string& Kernel::log_file() const {
  return impl_->log_file();
}

}  // namespace cellblock::jupyter
