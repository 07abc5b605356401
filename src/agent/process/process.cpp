#include "agent/process/process.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/wait.h>

#include <cerrno>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "agent/process/child_env.h"
#include "agent/process/exit_status.h"
#include "agent/process/spawn.h"

namespace cellblock::agent {

namespace asio = boost::asio;

namespace {

std::size_t event_bytes(const ProcessEvent& event) {
  if (const auto* data = std::get_if<DataEvent>(&event)) return data->bytes.size();
  return 0;
}

// `~` and relative cwds resolve against the user, as envd does for every path it receives.
std::string resolve_cwd(const std::optional<std::string>& cwd, const UserSpec& user) {
  if (!cwd || cwd->empty()) return user.workdir.empty() ? user.home : user.workdir;
  const std::string& path = *cwd;
  if (path == "~") return user.home;
  if (path.rfind("~/", 0) == 0) return user.home + path.substr(1);
  if (path.front() == '/') return path;
  return (user.workdir.empty() ? user.home : user.workdir) + "/" + path;
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

// --- SubscriberQueue / Subscription
// ---------------------------------------------------------------------------

void detail::SubscriberQueue::push(ProcessEvent event) {
  if (closed) return;
  closed = std::holds_alternative<EndEvent>(event);
  queued_bytes += event_bytes(event);
  peak_queued_bytes = std::max(peak_queued_bytes, queued_bytes);
  events.push_back(std::move(event));
  ready.notify();
}

Subscription::Subscription(std::shared_ptr<Process> process, std::shared_ptr<detail::SubscriberQueue> queue)
    : process_(std::move(process)), queue_(std::move(queue)) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    process_ = std::move(other.process_);
    queue_ = std::move(other.queue_);
  }
  return *this;
}

Subscription::~Subscription() {
  unsubscribe();
}

void Subscription::unsubscribe() {
  if (process_ && queue_) process_->unsubscribe(queue_.get());
  process_.reset();
  queue_.reset();
}

std::size_t Subscription::queued_bytes() const {
  return queue_ ? queue_->queued_bytes : 0;
}
std::size_t Subscription::peak_queued_bytes() const {
  return queue_ ? queue_->peak_queued_bytes : 0;
}

asio::awaitable<std::optional<ProcessEvent>> Subscription::next() {
  if (!queue_) co_return std::nullopt;
  // Keep both alive even if this Subscription is moved from or destroyed while suspended.
  auto queue = queue_;
  auto process = process_;
  for (;;) {
    // Checked before popping: a cancelled next() must leave the event for the following call.
    auto state = co_await asio::this_coro::cancellation_state;
    if (state.cancelled() != asio::cancellation_type::none) co_return std::nullopt;
    if (!queue->events.empty()) {
      ProcessEvent event = std::move(queue->events.front());
      queue->events.pop_front();
      queue->queued_bytes -= event_bytes(event);
      if (process && queue->queued_bytes <= Process::kHighWaterBytes) process->resume_reading_.notify();
      co_return event;
    }
    if (queue->closed) co_return std::nullopt;
    co_await queue->ready.wait();
  }
}

// --- Process
// ------------------------------------------------------------------------------------------------------

Result<std::shared_ptr<Process>> Process::start(const asio::any_io_executor& executor, StartSpec spec,
                                                const std::map<std::string, std::string>& sandbox_env) {
  SpawnRequest request;
  request.cwd = resolve_cwd(spec.config.cwd, spec.user);
  if (!is_directory(request.cwd)) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("cwd '{}' does not exist", spec.config.cwd.value_or(request.cwd)));
  }
  request.envp = build_child_env(spec.user, sandbox_env, spec.config.envs);
  auto program = find_executable(spec.config.cmd, request.envp, request.cwd);
  if (!program) return tl::unexpected(program.error());
  request.program = std::move(*program);
  request.argv.push_back(spec.config.cmd);
  request.argv.insert(request.argv.end(), spec.config.args.begin(), spec.config.args.end());
  request.pty = spec.pty;
  request.stdin_open = spec.stdin_open;
  if (::geteuid() == 0 && (spec.user.uid != 0 || spec.user.gid != 0)) {
    request.credentials =
        Credentials{spec.user.uid, spec.user.gid, supplementary_groups(spec.user.name, spec.user.gid)};
  }

  auto child = spawn_child(request);
  if (!child) return tl::unexpected(child.error());
  auto process =
      std::make_shared<Process>(Passkey{}, executor, std::move(spec), static_cast<std::uint32_t>(child->pid));
  process->launch(std::move(*child));
  return process;
}

Process::Process(Passkey, const asio::any_io_executor& executor, StartSpec spec, std::uint32_t pid)
    : executor_(executor),
      spec_(std::move(spec)),
      pid_(pid),
      pidfd_(executor),
      resume_reading_(executor),
      finished_signal_(executor),
      drain_timer_(executor),
      deadline_timer_(executor) {}

Process::~Process() = default;

void Process::launch(SpawnedChild child) {
  pidfd_.assign(child.pidfd.release());
  auto self = shared_from_this();
  auto start_reader = [&](std::optional<Descriptor>& slot, UniqueFd& fd, OutputStream stream) {
    if (!fd.valid()) return;
    slot.emplace(executor_, fd.release());
    ++open_readers_;
    asio::co_spawn(executor_, pump_output(self, &*slot, stream), asio::detached);
  };
  start_reader(pty_, child.pty_master, OutputStream::kPty);
  start_reader(stdout_, child.stdout_fd, OutputStream::kStdout);
  start_reader(stderr_, child.stderr_fd, OutputStream::kStderr);
  if (child.stdin_fd.valid()) stdin_.emplace(executor_, child.stdin_fd.release());
  last_read_ = std::chrono::steady_clock::now();
  asio::co_spawn(executor_, supervise(self), asio::detached);
  if (spec_.timeout) asio::co_spawn(executor_, enforce_deadline(self, *spec_.timeout), asio::detached);
}

Subscription Process::subscribe() {
  auto queue = std::make_shared<detail::SubscriberQueue>(executor_);
  queue->push(StartEvent{pid_});
  if (end_) {
    // Late Connect to a just-exited process: start + the retained end.
    queue->push(*end_);
  } else {
    subscribers_.push_back(queue);
  }
  return Subscription(shared_from_this(), std::move(queue));
}

void Process::unsubscribe(const detail::SubscriberQueue* queue) {
  std::erase_if(subscribers_, [queue](const auto& q) { return q.get() == queue; });
  resume_reading_.notify();
}

bool Process::backpressured() const {
  for (const auto& queue : subscribers_) {
    if (queue->queued_bytes > kHighWaterBytes) return true;
  }
  return false;
}

void Process::broadcast(const ProcessEvent& event) {
  for (const auto& queue : subscribers_) queue->push(event);
}

asio::awaitable<EndEvent> Process::wait() {
  auto self = shared_from_this();
  while (!end_) co_await finished_signal_.wait();
  co_return *end_;
}

// Starts on the next turn of the loop (co_spawn may run inline), so that whoever called start() can subscribe
// before the first byte is read.
asio::awaitable<void> Process::pump_output([[maybe_unused]] std::shared_ptr<Process> self,
                                           Descriptor* descriptor, OutputStream stream) {
  co_await asio::post(executor_, asio::use_awaitable);
  std::string buffer(kReadChunkBytes, '\0');
  while (!output_cut_) {
    if (backpressured()) {
      co_await resume_reading_.wait();
      continue;
    }
    auto [error, size] =
        co_await descriptor->async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
    if (size > 0) {
      last_read_ = std::chrono::steady_clock::now();
      broadcast(DataEvent{stream, buffer.substr(0, size)});
    }
    // EOF on a pipe; EIO on a PTY master once every slave fd is closed; operation_aborted when cut.
    if (error) break;
  }
  boost::system::error_code ignored;
  descriptor->close(ignored);
  --open_readers_;
  drain_timer_.cancel();
}

asio::awaitable<void> Process::supervise([[maybe_unused]] std::shared_ptr<Process> self) {
  auto [wait_error] = co_await pidfd_.async_wait(Descriptor::wait_read, asio::as_tuple(asio::use_awaitable));
  if (wait_error == asio::error::operation_aborted) co_return;
  siginfo_t info{};
  // P_PIDFD reaps exactly this child: an orphan reaper (the agent as PID 1) never takes its status.
  while (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.native_handle()), &info,
                  WEXITED) != 0 &&
         errno == EINTR) {
  }
  exited_ = true;
  deadline_timer_.cancel();
  close_input();

  co_await drain_output_after_exit();

  EndEvent end = end_event_from_wait(info);
  if (deadline_exceeded_) {
    end.deadline_exceeded = true;
    end.error = "deadline_exceeded";
  }
  end_ = end;
  broadcast(end);
  subscribers_.clear();
  boost::system::error_code ignored;
  pidfd_.close(ignored);
  finished_signal_.notify();
}

// The End event must follow all output, so wait for EOF on every stream; but a grandchild that keeps the pipe
// open
// (`sleep 100 &`) must not hold the End back forever. Time spent stalled by a slow subscriber does not count.
asio::awaitable<void> Process::drain_output_after_exit() {
  constexpr std::chrono::milliseconds kTick{25};
  std::chrono::milliseconds unpressured{0};
  while (open_readers_ > 0) {
    drain_timer_.expires_after(kTick);
    co_await drain_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (open_readers_ == 0 || backpressured()) continue;
    unpressured += kTick;
    bool idle = std::chrono::steady_clock::now() - last_read_ >= kDrainIdle;
    if (idle || unpressured >= kDrainLimit) cut_output();
  }
}

void Process::cut_output() {
  output_cut_ = true;
  boost::system::error_code ignored;
  for (auto* slot : {&stdout_, &stderr_, &pty_}) {
    if (*slot) (*slot)->cancel(ignored);
  }
  resume_reading_.notify();
}

asio::awaitable<void> Process::enforce_deadline([[maybe_unused]] std::shared_ptr<Process> self,
                                                std::chrono::milliseconds timeout) {
  deadline_timer_.expires_after(timeout);
  auto [error] = co_await deadline_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  if (error || exited_) co_return;
  deadline_exceeded_ = true;
  ::kill(-static_cast<pid_t>(pid_), SIGKILL);
  // The leader is killed even if it left its process group.
  ::syscall(SYS_pidfd_send_signal, pidfd_.native_handle(), SIGKILL, nullptr, 0);
}

Status Process::check_running() const {
  if (exited_) return fail(ErrorCode::kNotFound, fmt::format("process with pid {} not found", pid_));
  return {};
}

Status Process::signal(int signo) {
  if (auto running = check_running(); !running) return running;
  if (::kill(-static_cast<pid_t>(pid_), signo) != 0) {
    // No group (left it, or already gone): signal the leader itself through its pidfd, which cannot hit a
    // reused pid.
    if (::syscall(SYS_pidfd_send_signal, pidfd_.native_handle(), signo, nullptr, 0) != 0) {
      if (errno == ESRCH)
        return fail(ErrorCode::kNotFound, fmt::format("process with pid {} not found", pid_));
      return tl::unexpected(system_error(fmt::format("signal process {}", pid_), errno));
    }
  }
  return {};
}

Status Process::resize(PtySize size) {
  if (auto running = check_running(); !running) return running;
  if (!pty_ || !pty_->is_open()) return fail(ErrorCode::kInvalidArgument, "process has no pty");
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(size.cols);
  ws.ws_row = static_cast<unsigned short>(size.rows);
  if (::ioctl(pty_->native_handle(), TIOCSWINSZ, &ws) != 0) {
    return tl::unexpected(system_error("resize the pty", errno));
  }
  return {};
}

Status Process::send_stdin(std::string bytes) {
  if (auto running = check_running(); !running) return running;
  // A PTY process has no separate stdin: its input is the terminal.
  if (!has_pty() && (!stdin_ || close_input_requested_ || input_closed_)) {
    return fail(ErrorCode::kInvalidArgument,
                "stdin is not open for this process (start it with stdin: true)");
  }
  return queue_input(std::move(bytes));
}

Status Process::send_pty(std::string bytes) {
  if (auto running = check_running(); !running) return running;
  if (!has_pty()) return fail(ErrorCode::kInvalidArgument, "process has no pty");
  return queue_input(std::move(bytes));
}

Status Process::close_stdin() {
  if (auto running = check_running(); !running) return running;
  if (has_pty()) return fail(ErrorCode::kInvalidArgument, "a pty process has no stdin to close");
  if (!stdin_ || input_closed_) return {};
  close_input_requested_ = true;
  if (!input_writer_running_) close_input();
  return {};
}

Status Process::queue_input(std::string bytes) {
  if (pending_input_.size() + bytes.size() > kMaxPendingInputBytes) {
    return fail(ErrorCode::kResourceExhausted, "too much input is waiting for the process to read it");
  }
  pending_input_ += bytes;
  if (!input_writer_running_ && !pending_input_.empty()) {
    input_writer_running_ = true;
    asio::co_spawn(executor_, write_input(shared_from_this()), asio::detached);
  }
  return {};
}

asio::awaitable<void> Process::write_input([[maybe_unused]] std::shared_ptr<Process> self) {
  Descriptor* target = has_pty() ? (pty_ ? &*pty_ : nullptr) : (stdin_ ? &*stdin_ : nullptr);
  while (target != nullptr && target->is_open() && !pending_input_.empty()) {
    std::string chunk = std::move(pending_input_);
    pending_input_.clear();
    auto [error, written] =
        co_await asio::async_write(*target, asio::buffer(chunk), asio::as_tuple(asio::use_awaitable));
    // EPIPE: the child closed its stdin or exited; further input has nowhere to go. (The agent ignores
    // SIGPIPE.)
    if (error) {
      pending_input_.clear();
      break;
    }
  }
  input_writer_running_ = false;
  if (close_input_requested_) close_input();
}

void Process::close_input() {
  pending_input_.clear();
  if (stdin_ && !input_writer_running_) {
    boost::system::error_code ignored;
    stdin_->close(ignored);
    input_closed_ = true;
  } else if (stdin_) {
    // The writer is mid-write: cancel it; it closes stdin when it stops.
    close_input_requested_ = true;
    boost::system::error_code ignored;
    if (exited_) stdin_->cancel(ignored);
  }
}

}  // namespace cellblock::agent
