#pragma once
// One running Jupyter kernel, driven directly over ZeroMQ (jupyter.md §5–§7, §12).
//
// A Kernel owns the kernel process, a ZeroMQ context, the sockets and ONE I/O thread. The I/O thread does a
// single poll over every socket, an eventfd (commands queued by other threads) and the process's pidfd
// (kernel death), so a round trip adds no sleeps or polling timeouts to the kernel's own latency. Sockets are
// touched only by that thread. The public methods are thread-safe unless noted.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "common/error.h"
#include "jupyter/execute_events.h"

namespace cellblock::jupyter {

struct KernelOptions {
  std::vector<std::string> argv;                         // with "{connection_file}"
  std::vector<std::pair<std::string, std::string>> env;  // added to the agent's environment
  std::string cwd;                                       // "" keeps the agent's working directory
  std::string runtime_dir;                               // connection file and kernel log; "" = temp dir
  std::chrono::milliseconds ready_timeout{30000};
  std::chrono::milliseconds interrupt_deadline{3000};  // after this, kill + restart
  std::chrono::milliseconds late_output_grace{0};      // 0 for ipykernel; >= 50 ms for kernels like Deno
  bool interrupt_by_message = false;                   // default: SIGINT to the process group
  bool allow_stdin = false;  // ipykernel: false (input() raises StdinNotImplementedError, as on E2B)
};

struct ExecuteOptions {
  bool silent = false;  // no execute_input, no execute_result, no execution count
  bool store_history = true;
};

// The argv the agent uses for Python (Debian's interpreter, inline plots, plain tracebacks, untruncated
// reprs).
std::vector<std::string> python_kernel_argv();

class Kernel {
 public:
  // Spawns the kernel and returns once it is ready: a kernel_info_reply AND one iopub message have arrived
  // (kernel_info_request is re-sent every 100 ms to get past ZeroMQ's slow-joiner problem).
  static Result<std::unique_ptr<Kernel>> start(KernelOptions options);

  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  // Ends a running execution (ExecuteDone kAborted), sends shutdown_request on control, then terminates the
  // process group if it has not exited within a second; joins the I/O thread.
  ~Kernel();

  // Starts one execution. Only one runs at a time: a call while busy() fails with kConflict; a call after the
  // kernel failed to (re)start fails with kUnavailable. The sink gets, on the I/O thread, every event of this
  // execution and exactly one ExecuteDone as the last event; busy() is already false when the final events
  // arrive, so the sink may start the next execution. If the kernel is (re)starting, the request waits until
  // it is ready.
  Status execute(std::string code, ExecuteOptions options, EventSink sink);
  // Interrupts the running execution (SIGINT to the group, or interrupt_request). If it has not ended within
  // interrupt_deadline, the kernel is killed and restarted and the execution ends with kKernelRestarted.
  void interrupt();
  // Shuts down (or kills) the kernel and starts it again with the same connection file; its state is lost.
  // A running execution ends with kKernelRestarted. Waits until the new kernel is ready. Must not be called
  // from an EventSink.
  Status restart();

  bool busy() const;
  // The kernel's process id (its process group id too); 0 while no process runs.
  int pid() const;
  // The content of the last kernel_info_reply (language_info, implementation, …).
  boost::json::object kernel_info() const;
  const std::string& connection_file() const;
  const std::string& log_file() const;

 private:
  class Impl;
  explicit Kernel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cellblock::jupyter
