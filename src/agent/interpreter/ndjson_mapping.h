#pragma once
// Turns the events of one Jupyter execution into the code interpreter's NDJSON lines (e2b-api.md §7.3, §7.4).
// Pure functions: no I/O, so the mapping is tested against real kernel transcripts.

#include <optional>
#include <string>

#include <boost/json.hpp>

#include "jupyter/execute_events.h"

namespace cellblock::interpreter {

// A `result` line from a MIME bundle: known MIME types become top-level keys (text/plain → text with one pair
// of surrounding quotes stripped); other types go into `extra`, as the reference server does.
boost::json::object result_line(const jupyter::DisplayOutput& output);
boost::json::object stream_line(const jupyter::StreamOutput& output, const std::string& timestamp);
boost::json::object error_line(std::string_view name, std::string_view value, std::string_view traceback);
boost::json::object error_line(const jupyter::ExecuteError& error);
boost::json::object count_line(int execution_count);
boost::json::object keepalive_line();
boost::json::object end_line();

// Strips one pair of matching surrounding quotes ('…' or "…") from a text/plain repr.
std::string strip_repr_quotes(std::string_view text);

// Tracks what one execution has written, so the stream keeps E2B's rules: one `error` line at most, and a
// synthetic error when the kernel died or was restarted under the cell.
class ExecutionMapper {
 public:
  // The NDJSON line (without newline) for an event, or nullopt when nothing is sent for it.
  std::optional<boost::json::object> map(const jupyter::ExecuteEvent& event, const std::string& timestamp);

 private:
  bool error_sent_ = false;
};

}  // namespace cellblock::interpreter
