#include "jupyter/execution.h"

#include <exception>
#include <utility>

#include <spdlog/spdlog.h>

namespace cellblock::jupyter {
namespace {

namespace json = boost::json;

json::object object_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr && value->is_object() ? value->get_object() : json::object{};
}

std::optional<int> int_field(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return static_cast<int>(value->get_int64());
  if (value->is_uint64()) return static_cast<int>(value->get_uint64());
  return std::nullopt;
}

// ename/evalue/traceback are optional: tslab sends error replies without them (jupyter.md §6.3).
ExecuteError error_from(const json::object& content) {
  ExecuteError error;
  error.ename = std::string(string_field(content, "ename"));
  error.evalue = std::string(string_field(content, "evalue"));
  if (const auto* traceback = content.if_contains("traceback");
      traceback != nullptr && traceback->is_array()) {
    for (const auto& line : traceback->get_array()) {
      if (line.is_string()) error.traceback.emplace_back(line.get_string());
    }
  }
  return error;
}

DisplayOutput display_from(const json::object& content, bool is_execute_result, bool is_update) {
  DisplayOutput output;
  output.data = object_field(content, "data");
  output.metadata = object_field(content, "metadata");
  output.is_execute_result = is_execute_result;
  output.is_update = is_update;
  output.display_id = std::string(string_field(object_field(content, "transient"), "display_id"));
  return output;
}

}  // namespace

Execution::Execution(std::string request_msg_id, bool silent, EventSink sink)
    : request_msg_id_(std::move(request_msg_id)), silent_(silent), sink_(std::move(sink)) {}

void Execution::emit(ExecuteEvent&& event) {
  if (!sink_) return;
  // The sink runs on the kernel's I/O thread; an exception escaping it would take the whole agent down.
  try {
    sink_(std::move(event));
  } catch (const std::exception& error) {
    spdlog::error("execute event sink threw: {}", error.what());
  } catch (...) {
    spdlog::error("execute event sink threw a non-standard exception");
  }
}

void Execution::on_iopub(const Message& message) {
  if (ended_) return;
  const auto& type = message.msg_type;
  const auto& content = message.content;
  if (type == "status") {
    if (string_field(content, "execution_state") == "idle") idle_ = true;
  } else if (type == "execute_input") {
    if (auto count = int_field(content, "execution_count"); count && !saw_count_) {
      saw_count_ = true;
      emit(ExecutionCount{*count});
    }
  } else if (type == "stream") {
    emit(StreamOutput{string_field(content, "name") == "stderr", std::string(string_field(content, "text"))});
  } else if (type == "display_data" || type == "update_display_data" || type == "execute_result") {
    emit(display_from(content, type == "execute_result", type == "update_display_data"));
  } else if (type == "error") {
    saw_error_ = true;
    emit(error_from(content));
  } else if (type == "clear_output") {
    const auto* wait = content.if_contains("wait");
    emit(ClearOutput{wait != nullptr && wait->is_bool() && wait->get_bool()});
  }
  // comm_* and anything unknown: not part of a code interpreter's output.
}

void Execution::on_reply(const Message& message) {
  if (!ended_ && !reply_) reply_ = message;
}

void Execution::finish() {
  if (ended_ || !reply_) return;
  const auto& content = reply_->content;
  const std::string_view status = string_field(content, "status");
  // A kernel that sends no execute_input still reports the count in its reply (silent cells have none).
  if (!saw_count_ && !silent_) {
    if (auto count = int_field(content, "execution_count")) {
      saw_count_ = true;
      emit(ExecutionCount{*count});
    }
  }
  if (status == "ok") {
    end(ExecuteDone::Status::kOk, {});
  } else if (status == "aborted" || status == "abort") {  // "abort": IRkernel, tslab
    end(ExecuteDone::Status::kAborted, "the kernel aborted the execution");
  } else {
    std::optional<ExecuteError> error;
    if (!saw_error_) {
      error = error_from(content);
      if (error->ename.empty()) error->ename = "Error";
      if (status != "error") error->evalue = "unknown execute_reply status: " + std::string(status);
    }
    end(ExecuteDone::Status::kError, {}, std::move(error));
  }
}

void Execution::end(ExecuteDone::Status status, std::string detail, std::optional<ExecuteError> error) {
  if (ended_) return;
  ended_ = true;
  if (error) emit(std::move(*error));
  emit(ExecuteDone{status, std::move(detail)});
}

}  // namespace cellblock::jupyter
