#pragma once
// What one execution produces, in order, as plain values (no JSON wire details beyond MIME bundles).

#include <functional>
#include <string>
#include <variant>
#include <vector>

#include <boost/json.hpp>

namespace cellblock::jupyter {

struct ExecutionCount {  // from execute_input: the kernel accepted the cell
  int count = 0;
};
struct StreamOutput {
  bool is_stderr = false;
  std::string text;
};
struct DisplayOutput {       // display_data, update_display_data or execute_result
  boost::json::object data;  // MIME type → value
  boost::json::object metadata;
  bool is_execute_result = false;
  bool is_update = false;  // update_display_data: replaces the output named by display_id
  std::string display_id;  // from transient.display_id, "" when absent
};
struct ExecuteError {
  std::string ename;
  std::string evalue;
  std::vector<std::string> traceback;
};
struct ClearOutput {
  bool wait = false;
};
struct ExecuteDone {
  enum class Status {
    kOk,
    kError,            // the cell raised (an ExecuteError came before)
    kAborted,          // the kernel refused to run the cell, or it was cancelled before it started
    kKernelDied,       // the kernel process exited; it is being restarted with its state lost
    kKernelRestarted,  // the kernel was restarted (on request, or an interrupt did not end the cell in time)
  };
  Status status = Status::kOk;
  std::string detail;
};

using ExecuteEvent =
    std::variant<ExecutionCount, StreamOutput, DisplayOutput, ExecuteError, ClearOutput, ExecuteDone>;
// Receives the events of one execution. Called on the kernel's I/O thread: it must return quickly (hand the
// event to another executor), must not block on the same kernel and should not throw (exceptions are logged
// and dropped).
using EventSink = std::function<void(ExecuteEvent&&)>;

}  // namespace cellblock::jupyter
