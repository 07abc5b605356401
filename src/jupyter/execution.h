#pragma once
// The state of one execute_request (jupyter.md §5, §6.3): turns the iopub broadcasts and the shell reply that
// belong to it into ExecuteEvents, and knows when it is complete — the execute_reply AND the iopub idle, in
// either order. Pure logic: the caller routes messages to it by parent msg_id and decides when to call
// finish().

#include <optional>
#include <string>

#include "jupyter/execute_events.h"
#include "jupyter/message.h"

namespace cellblock::jupyter {

class Execution {
 public:
  Execution(std::string request_msg_id, bool silent, EventSink sink);

  const std::string& request_msg_id() const { return request_msg_id_; }

  // An iopub message whose parent is this request.
  void on_iopub(const Message& message);
  // The shell execute_reply whose parent is this request.
  void on_reply(const Message& message);
  bool complete() const { return reply_.has_value() && idle_; }

  // Ends a complete execution: an ExecuteError synthesized from an error reply when no iopub error came, then
  // ExecuteDone from the reply status. Call once.
  void finish();
  // Ends the execution without a usable reply: an optional error, then ExecuteDone with `status`.
  void end(ExecuteDone::Status status, std::string detail, std::optional<ExecuteError> error = std::nullopt);

 private:
  void emit(ExecuteEvent&& event);

  std::string request_msg_id_;
  bool silent_;
  EventSink sink_;
  std::optional<Message> reply_;
  bool idle_ = false;
  bool saw_count_ = false;
  bool saw_error_ = false;
  bool ended_ = false;
};

}  // namespace cellblock::jupyter
