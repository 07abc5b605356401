#include "agent/interpreter/ndjson_mapping.h"

#include <array>
#include <utility>

namespace cellblock::interpreter {
namespace {

struct MimeKey {
  std::string_view mime;
  std::string_view key;
};

constexpr std::array<MimeKey, 12> kMimeKeys{{
    {"text/plain", "text"},
    {"text/html", "html"},
    {"text/markdown", "markdown"},
    {"image/svg+xml", "svg"},
    {"image/png", "png"},
    {"image/jpeg", "jpeg"},
    {"application/pdf", "pdf"},
    {"text/latex", "latex"},
    {"application/json", "json"},
    {"application/javascript", "javascript"},
    {"e2b/data", "data"},
    {"e2b/chart", "chart"},
}};

std::optional<std::string_view> key_for(std::string_view mime) {
  for (const auto& entry : kMimeKeys) {
    if (entry.mime == mime) return entry.key;
  }
  return std::nullopt;
}

std::string join_traceback(const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += '\n';
    out += lines[i];
  }
  return out;
}

}  // namespace

std::string strip_repr_quotes(std::string_view text) {
  if (text.size() >= 2) {
    char first = text.front();
    if ((first == '\'' || first == '"') && text.back() == first)
      return std::string(text.substr(1, text.size() - 2));
  }
  return std::string(text);
}

boost::json::object result_line(const jupyter::DisplayOutput& output) {
  boost::json::object line;
  line["type"] = "result";
  boost::json::object extra;
  for (const auto& [mime, value] : output.data) {
    auto key = key_for(mime);
    if (!key) {
      extra[mime] = value;
      continue;
    }
    if (*key == "text" && value.is_string()) {
      line[*key] = strip_repr_quotes(value.get_string());
    } else {
      line[*key] = value;
    }
  }
  line["is_main_result"] = output.is_execute_result;
  line["extra"] = std::move(extra);
  return line;
}

boost::json::object stream_line(const jupyter::StreamOutput& output, const std::string& timestamp) {
  boost::json::object line;
  line["type"] = output.is_stderr ? "stderr" : "stdout";
  line["text"] = output.text;
  line["timestamp"] = timestamp;
  return line;
}

boost::json::object error_line(std::string_view name, std::string_view value, std::string_view traceback) {
  boost::json::object line;
  line["type"] = "error";
  line["name"] = name;
  line["value"] = value;
  line["traceback"] = traceback;
  return line;
}

boost::json::object error_line(const jupyter::ExecuteError& error) {
  return error_line(error.ename, error.evalue, join_traceback(error.traceback));
}

boost::json::object count_line(int execution_count) {
  boost::json::object line;
  line["type"] = "number_of_executions";
  line["execution_count"] = execution_count;
  return line;
}

boost::json::object keepalive_line() {
  boost::json::object line;
  line["type"] = "keepalive";
  return line;
}

boost::json::object end_line() {
  boost::json::object line;
  line["type"] = "end_of_execution";
  return line;
}

std::optional<boost::json::object> ExecutionMapper::map(const jupyter::ExecuteEvent& event,
                                                        const std::string& timestamp) {
  using Done = jupyter::ExecuteDone;
  if (const auto* count = std::get_if<jupyter::ExecutionCount>(&event)) return count_line(count->count);
  if (const auto* stream = std::get_if<jupyter::StreamOutput>(&event)) {
    if (stream->text.empty()) return std::nullopt;
    return stream_line(*stream, timestamp);
  }
  if (const auto* display = std::get_if<jupyter::DisplayOutput>(&event)) {
    if (display->data.empty()) return std::nullopt;
    return result_line(*display);
  }
  if (const auto* error = std::get_if<jupyter::ExecuteError>(&event)) {
    if (error_sent_) return std::nullopt;
    error_sent_ = true;
    return error_line(*error);
  }
  if (const auto* done = std::get_if<Done>(&event)) {
    if (error_sent_) return std::nullopt;
    switch (done->status) {
      case Done::Status::kKernelDied:
        error_sent_ = true;
        return error_line("KernelDied",
                          done->detail.empty() ? "The kernel died and was restarted" : done->detail, "");
      case Done::Status::kKernelRestarted:
        error_sent_ = true;
        return error_line("ContextRestarting", "Context was restarted", "");
      case Done::Status::kAborted:
        error_sent_ = true;
        return error_line("ExecutionAborted", "Execution was aborted", "");
      case Done::Status::kOk:
      case Done::Status::kError:
        return std::nullopt;
    }
  }
  return std::nullopt;  // ClearOutput: the code interpreter protocol has no way to express it
}

}  // namespace cellblock::interpreter
