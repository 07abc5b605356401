#pragma once
// The output of one run_code execution in the shape the browser renders (docs/web-api.md, "Tool output"),
// assembled from the agent's /execute NDJSON lines, and the text the model is shown of it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "chat/model_messages.h"

namespace cellblock::chat {

class ExecutionOutput {
 public:
  ExecutionOutput();
  // Folds one NDJSON line of the agent's /execute stream (stdout, stderr, result, error,
  // number_of_executions, end_of_execution; keepalive and unknown types are ignored). Returns false when the
  // line is not a JSON object.
  bool apply_line(std::string_view line);
  bool ended() const { return ended_; }
  bool has_error() const { return json_.at("error").is_object(); }
  // Marks the run as failed for a reason outside the code (the sandbox died, the run was stopped).
  void set_error(std::string_view name, std::string_view value);
  // {"stdout","stderr","results":[…],"error":null|{name,value,traceback},"executionCount"}.
  const boost::json::object& json() const { return json_; }

 private:
  void append_stream(std::string_view field, const boost::json::object& line);

  boost::json::object json_;
  bool ended_ = false;
};

// What the model is told of an output: stdout/stderr (long output keeps its head and tail), results as text,
// figures described ("[chart shown to the user: line chart 'Sine', 2 series]"), the error with an
// ANSI-stripped, trimmed traceback. PNGs are attached when `with_images` (the model can then see the chart).
ToolResult tool_result_from_output(std::string tool_call_id, const boost::json::object& output,
                                   bool with_images);

// Removes ANSI escape sequences (terminal colours in tracebacks).
std::string strip_ansi(std::string_view text);
// Keeps at most `limit` bytes: the head and the tail, with a note of what was cut (UTF-8 safe).
std::string trim_middle(std::string_view text, std::size_t limit);

}  // namespace cellblock::chat
