#pragma once
// One spawned process of envd's process.Process service: its output fan-out to subscribers, stdin/PTY input,
// signals, the lifetime deadline and the exit report.
//
// Threading: everything runs on one executor (the agent's single io_context thread); no method is
// thread-safe. Ownership: ProcessTable owns processes; a Subscription keeps its process alive; the process's
// own coroutines keep it alive until its End event is out.

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "agent/process/notifier.h"
#include "agent/process/process_types.h"
#include "common/error.h"

namespace cellblock::agent {

class Process;
struct SpawnedChild;

namespace detail {
// The per-subscriber queue. Its byte count drives the backpressure on the process's output pipes.
struct SubscriberQueue {
  explicit SubscriberQueue(const boost::asio::any_io_executor& executor) : ready(executor) {}
  void push(ProcessEvent event);

  std::deque<ProcessEvent> events;
  std::size_t queued_bytes = 0;
  std::size_t peak_queued_bytes = 0;
  bool closed = false;  // the End event is queued; nothing follows it
  Notifier ready;
};
}  // namespace detail

// A view of one process's events: Start{pid} first, then the output produced after subscribing, then exactly
// one End, then nullopt. Destroying it unsubscribes (and releases any backpressure it caused).
class Subscription {
 public:
  Subscription(std::shared_ptr<Process> process, std::shared_ptr<detail::SubscriberQueue> queue);
  Subscription(Subscription&& other) noexcept = default;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();

  // The next event; nullopt after the End event, or when the awaiting coroutine is cancelled (e.g. the loser
  // of an
  // `||` with a keepalive timer: no event is lost then, the next call returns it).
  boost::asio::awaitable<std::optional<ProcessEvent>> next();

  // Bytes of output waiting in this subscription; and the most it ever held (a test hook for the memory
  // bound).
  std::size_t queued_bytes() const;
  std::size_t peak_queued_bytes() const;

 private:
  void unsubscribe();

  std::shared_ptr<Process> process_;
  std::shared_ptr<detail::SubscriberQueue> queue_;
};

class Process : public std::enable_shared_from_this<Process> {
 public:
  // Output reading pauses while any subscriber holds more than this; a slow client therefore slows the
  // process (its pipe fills) instead of growing the agent's memory.
  static constexpr std::size_t kHighWaterBytes = std::size_t{1} << 20;
  static constexpr std::size_t kReadChunkBytes = 64 * 1024;
  // After the process exited, output still open (a grandchild holds the pipe) is cut once it has been silent
  // this long, or after kDrainLimit of reading in total.
  static constexpr std::chrono::milliseconds kDrainIdle{250};
  static constexpr std::chrono::milliseconds kDrainLimit{2000};
  // Bound on input accepted but not yet written into the child's stdin.
  static constexpr std::size_t kMaxPendingInputBytes = std::size_t{16} << 20;

  // Spawns the process. Use ProcessTable::start, which also tracks and retains it.
  static Result<std::shared_ptr<Process>> start(const boost::asio::any_io_executor& executor, StartSpec spec,
                                                const std::map<std::string, std::string>& sandbox_env);

  struct Passkey {
   private:
    Passkey() = default;
    friend class Process;
  };
  Process(Passkey, const boost::asio::any_io_executor& executor, StartSpec spec, std::uint32_t pid);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  std::uint32_t pid() const { return pid_; }
  const ProcessConfig& config() const { return spec_.config; }
  const std::optional<std::string>& tag() const { return spec_.tag; }
  bool has_pty() const { return spec_.pty.has_value(); }
  // True once the End event was emitted.
  bool finished() const { return end_.has_value(); }
  const std::optional<EndEvent>& end_event() const { return end_; }

  Subscription subscribe();
  // Resolves with the End event once the process finished.
  boost::asio::awaitable<EndEvent> wait();

  // Input is queued and written asynchronously, in order. kInvalidArgument when stdin was not opened (or is
  // closed); kNotFound once the process exited.
  Status send_stdin(std::string bytes);
  Status send_pty(std::string bytes);
  // Closes stdin after the queued input is written.
  Status close_stdin();
  // Signals the whole process group (the process leads its own session).
  Status signal(int signo);
  Status resize(PtySize size);

 private:
  friend class Subscription;
  using Descriptor = boost::asio::posix::stream_descriptor;

  void launch(SpawnedChild child);
  bool backpressured() const;
  void broadcast(const ProcessEvent& event);
  void unsubscribe(const detail::SubscriberQueue* queue);
  Status queue_input(std::string bytes);
  Status check_running() const;
  void cut_output();
  void close_input();

  boost::asio::awaitable<void> pump_output(std::shared_ptr<Process> self, Descriptor* descriptor,
                                           OutputStream stream);
  boost::asio::awaitable<void> write_input(std::shared_ptr<Process> self);
  boost::asio::awaitable<void> supervise(std::shared_ptr<Process> self);
  boost::asio::awaitable<void> enforce_deadline(std::shared_ptr<Process> self,
                                                std::chrono::milliseconds timeout);
  boost::asio::awaitable<void> drain_output_after_exit();

  boost::asio::any_io_executor executor_;
  StartSpec spec_;
  std::uint32_t pid_;

  Descriptor pidfd_;
  std::optional<Descriptor> stdin_;
  std::optional<Descriptor> stdout_;
  std::optional<Descriptor> stderr_;
  std::optional<Descriptor> pty_;

  std::vector<std::shared_ptr<detail::SubscriberQueue>> subscribers_;
  Notifier resume_reading_;
  Notifier finished_signal_;
  boost::asio::steady_timer drain_timer_;
  boost::asio::steady_timer deadline_timer_;

  int open_readers_ = 0;
  bool output_cut_ = false;
  std::chrono::steady_clock::time_point last_read_{};

  std::string pending_input_;
  bool input_writer_running_ = false;
  bool close_input_requested_ = false;
  bool input_closed_ = false;

  bool exited_ = false;
  bool deadline_exceeded_ = false;
  std::optional<EndEvent> end_;
};

}  // namespace cellblock::agent
