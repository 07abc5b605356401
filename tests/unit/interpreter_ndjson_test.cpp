// The NDJSON mapping (e2b-api.md §7.3, §7.4) against real captured kernel output: each captured iopub message
// of a cell becomes the jupyter::ExecuteEvent the Execution would deliver, and the mapper's lines are checked
// against the wire contract.

#include "agent/interpreter/ndjson_mapping.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace cellblock::interpreter {
namespace {

namespace json = boost::json;
using jupyter::ExecuteDone;
using jupyter::ExecuteEvent;

constexpr const char* kTimestamp = "2026-01-02T03:04:05.123456Z";

std::string fixture_path(const std::string& name) {
  return std::string(CELLBLOCK_FIXTURES_DIR) + "/kernel-transcripts/" + name;
}

json::array load_cells(const std::string& name) {
  std::ifstream file(fixture_path(name));
  EXPECT_TRUE(file.good()) << name;
  std::stringstream text;
  text << file.rdbuf();
  return json::parse(text.str()).as_array();
}

std::string str(const json::value& value) {
  return std::string(value.as_string());
}

// One captured iopub message as the event Execution produces for it; nullopt for messages that carry no event
// (status).
std::optional<ExecuteEvent> to_event(const json::object& message) {
  const std::string type = str(message.at("header").at("msg_type"));
  const json::object& content = message.at("content").as_object();
  if (type == "execute_input") {
    return jupyter::ExecutionCount{static_cast<int>(content.at("execution_count").to_number<int>())};
  }
  if (type == "stream")
    return jupyter::StreamOutput{str(content.at("name")) == "stderr", str(content.at("text"))};
  if (type == "display_data" || type == "update_display_data" || type == "execute_result") {
    jupyter::DisplayOutput output;
    output.data = content.at("data").as_object();
    output.metadata = content.at("metadata").as_object();
    output.is_execute_result = type == "execute_result";
    output.is_update = type == "update_display_data";
    if (const auto* transient = content.if_contains("transient"); transient && transient->is_object()) {
      if (const auto* id = transient->as_object().if_contains("display_id")) output.display_id = str(*id);
    }
    return output;
  }
  if (type == "error") {
    jupyter::ExecuteError error{str(content.at("ename")), str(content.at("evalue")), {}};
    for (const auto& line : content.at("traceback").as_array()) error.traceback.push_back(str(line));
    return error;
  }
  if (type == "clear_output") return jupyter::ClearOutput{content.at("wait").as_bool()};
  return std::nullopt;
}

struct Cell {
  json::object record;
  std::vector<ExecuteEvent> events;  // the cell's iopub events, then ExecuteDone from the execute_reply
};

Cell load_cell(const std::string& name, std::size_t index = 0) {
  Cell cell;
  cell.record = load_cells(name).at(index).as_object();
  const json::object& reply = cell.record.at("shell").as_array().at(0).as_object();
  const std::string request_id = str(reply.at("parent_header").at("msg_id"));
  for (const auto& captured : cell.record.at("iopub").as_array()) {
    const json::object& message = captured.as_object();
    // Kernel routes by parent: output of other requests (kernel_info during start-up) never reaches the cell.
    if (!message.at("parent_header").as_object().contains("msg_id")) continue;
    if (str(message.at("parent_header").at("msg_id")) != request_id) continue;
    if (auto event = to_event(message)) cell.events.push_back(std::move(*event));
  }
  const std::string status = str(reply.at("content").at("status"));
  ExecuteDone done;
  done.status = status == "ok"      ? ExecuteDone::Status::kOk
                : status == "error" ? ExecuteDone::Status::kError
                                    : ExecuteDone::Status::kAborted;
  cell.events.push_back(done);
  return cell;
}

std::vector<json::object> map_all(const std::vector<ExecuteEvent>& events) {
  ExecutionMapper mapper;
  std::vector<json::object> lines;
  for (const auto& event : events) {
    if (auto line = mapper.map(event, kTimestamp)) lines.push_back(std::move(*line));
  }
  return lines;
}

std::vector<json::object> lines_of(const std::vector<json::object>& lines, std::string_view type) {
  std::vector<json::object> out;
  for (const auto& line : lines) {
    if (line.at("type").as_string() == type) out.push_back(line);
  }
  return out;
}

std::vector<json::object> map_fixture(const std::string& name) {
  return map_all(load_cell(name).events);
}

const std::set<std::string> kResultKeys = {
    "type", "is_main_result", "extra", "text",       "html", "markdown", "svg", "png", "jpeg",
    "pdf",  "latex",          "json",  "javascript", "data", "chart"};

// The wire rules every line of every execution must keep (§7.3).
void expect_wire_valid(const json::object& line, const std::string& where) {
  const std::string text = json::serialize(line);
  EXPECT_FALSE(text.empty()) << where;
  EXPECT_EQ(text.find('\n'), std::string::npos) << where << ": " << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << where << ": " << text;
  // The line must read back as the same object (what JSON.parse in the SDK sees).
  EXPECT_EQ(json::parse(text), json::value(line)) << where;
  ASSERT_TRUE(line.contains("type") && line.at("type").is_string()) << where;
  const std::string type = str(line.at("type"));
  if (type == "result") {
    for (const auto& [key, value] : line) {
      EXPECT_TRUE(kResultKeys.contains(std::string(key))) << where << ": unexpected key " << key;
    }
    ASSERT_TRUE(line.contains("extra")) << where;
    EXPECT_TRUE(line.at("extra").is_object()) << where;
    ASSERT_TRUE(line.contains("is_main_result")) << where;
    EXPECT_TRUE(line.at("is_main_result").is_bool()) << where;
  } else if (type == "stdout" || type == "stderr") {
    EXPECT_EQ(line.size(), 3u) << where;
    EXPECT_TRUE(line.at("text").is_string()) << where;
    EXPECT_TRUE(line.at("timestamp").is_string()) << where;
  } else if (type == "error") {
    EXPECT_EQ(line.size(), 4u) << where;
    for (const char* key : {"name", "value", "traceback"}) EXPECT_TRUE(line.at(key).is_string()) << where;
  } else if (type == "number_of_executions") {
    EXPECT_TRUE(line.at("execution_count").is_int64()) << where;
  } else {
    ADD_FAILURE() << where << ": unexpected line type " << type;
  }
}

TEST(NdjsonMapping, EveryPythonTranscriptKeepsTheWireRules) {
  int cells = 0;
  for (const auto& entry : std::filesystem::directory_iterator(fixture_path(""))) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("python_") || !std::isdigit(static_cast<unsigned char>(name[7]))) continue;
    const json::array records = load_cells(name);
    for (std::size_t i = 0; i < records.size(); ++i) {
      const Cell cell = load_cell(name, i);
      const auto lines = map_all(cell.events);
      ASSERT_FALSE(lines.empty()) << name;
      // The kernel accepted the cell first: number_of_executions leads, with the kernel's count.
      EXPECT_EQ(lines.front().at("type").as_string(), "number_of_executions") << name;
      EXPECT_LE(lines_of(lines, "error").size(), 1u) << name;
      for (const auto& line : lines) expect_wire_valid(line, name);
      ++cells;
    }
  }
  EXPECT_GE(cells, 20);
}

TEST(NdjsonMapping, StdoutAndStderrLines) {
  const auto lines = map_fixture("python_01_stdout_stderr.json");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], (json::object{{"type", "number_of_executions"}, {"execution_count", 1}}));
  EXPECT_EQ(
      lines[1],
      (json::object{{"type", "stdout"}, {"text", "hello stdout\nno newline"}, {"timestamp", kTimestamp}}));
  EXPECT_EQ(lines[2],
            (json::object{{"type", "stderr"}, {"text", "hello stderr\n"}, {"timestamp", kTimestamp}}));
}

TEST(NdjsonMapping, ExceptionGivesOneErrorLineWithJoinedTraceback) {
  const Cell cell = load_cell("python_02_exception.json");
  const auto lines = map_all(cell.events);
  const auto errors = lines_of(lines, "error");
  ASSERT_EQ(errors.size(), 1u);
  const auto& error = errors[0];
  EXPECT_EQ(error.at("name"), "ZeroDivisionError");
  EXPECT_EQ(error.at("value"), "division by zero");
  ASSERT_TRUE(error.at("traceback").is_string());

  // The traceback is the captured lines joined with "\n", as one string.
  std::vector<std::string> captured;
  for (const auto& message : cell.record.at("iopub").as_array()) {
    if (message.at("header").at("msg_type") == "error") {
      for (const auto& line : message.at("content").at("traceback").as_array()) captured.push_back(str(line));
    }
  }
  ASSERT_GE(captured.size(), 2u);
  std::string expected = captured[0];
  for (std::size_t i = 1; i < captured.size(); ++i) expected += "\n" + captured[i];
  EXPECT_EQ(str(error.at("traceback")), expected);
  EXPECT_NE(str(error.at("traceback")).find("ZeroDivisionError"), std::string::npos);
  // The execute_reply's "error" status adds nothing: the cell's own error was the line.
  EXPECT_EQ(lines.back().at("type"), "error");
}

TEST(NdjsonMapping, DataFrameIsMainResultWithHtmlAndText) {
  const auto results = lines_of(map_fixture("python_04_pandas_last_expr.json"), "result");
  ASSERT_EQ(results.size(), 1u);
  const auto& result = results[0];
  EXPECT_EQ(result.at("text"), "   a  b\n0  1  x\n1  2  y\n2  3  z");
  ASSERT_TRUE(result.at("html").is_string());
  EXPECT_TRUE(str(result.at("html")).starts_with("<div>"));
  EXPECT_NE(str(result.at("html")).find("<table"), std::string::npos);
  EXPECT_EQ(result.at("is_main_result"), true);
  EXPECT_EQ(result.at("extra"), json::object{});
  EXPECT_EQ(result.size(), 5u);  // type, text, html, is_main_result, extra
}

TEST(NdjsonMapping, OnePlusOneIsText2) {
  const auto results = lines_of(map_fixture("python_06_one_plus_one.json"), "result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(
      results[0],
      (json::object{{"type", "result"}, {"text", "2"}, {"is_main_result", true}, {"extra", json::object{}}}));
}

TEST(NdjsonMapping, RichMimeTypesBecomeTheirKeys) {
  const auto results = lines_of(map_fixture("python_09_rich_mimes.json"), "result");
  ASSERT_EQ(results.size(), 6u);
  const char* keys[] = {"svg", "markdown", "latex", "json", "javascript", "jpeg"};
  for (std::size_t i = 0; i < 6; ++i) {
    SCOPED_TRACE(keys[i]);
    EXPECT_TRUE(results[i].contains(keys[i]));
    EXPECT_TRUE(results[i].contains("text"));  // every bundle also had text/plain
    EXPECT_EQ(results[i].at("is_main_result"), false);
    EXPECT_EQ(results[i].at("extra"), json::object{});
    EXPECT_EQ(results[i].size(), 5u);
  }
  EXPECT_TRUE(str(results[0].at("svg")).starts_with("<svg"));
  EXPECT_EQ(results[0].at("text"), "<IPython.core.display.SVG object>");
  EXPECT_EQ(results[1].at("markdown"), "# title\n*md*");
  EXPECT_EQ(results[2].at("latex"), "$\\alpha^2$");
  // application/json stays a JSON object on the wire, not a string.
  ASSERT_TRUE(results[3].at("json").is_object());
  EXPECT_EQ(results[3].at("json"), json::parse(R"({"k": [1, 2]})"));
  EXPECT_EQ(results[4].at("javascript"), "console.log(1)");
  EXPECT_TRUE(str(results[5].at("jpeg")).starts_with("/9j/"));  // base64 of a JPEG's FF D8 FF
}

TEST(NdjsonMapping, PdfFromMimeBundle) {
  const auto results = lines_of(map_fixture("python_10_mimebundle_pdf.json"), "result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].at("pdf"), "JVBERi0xLjQgZmFrZQ==");
  EXPECT_EQ(results[0].at("text"), "<Doc>");
  EXPECT_EQ(results[0].at("is_main_result"), true);
}

TEST(NdjsonMapping, SemicolonSuppressesTheResult) {
  const auto lines = map_fixture("python_16_semicolon_suppresses.json");
  EXPECT_TRUE(lines_of(lines, "result").empty());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].at("type"), "number_of_executions");
}

TEST(NdjsonMapping, UnknownMimeGoesUnderExtra) {
  const auto results = lines_of(map_fixture("python_17_plotly.json"), "result");
  ASSERT_EQ(results.size(), 2u);
  const auto& figure = results[1];
  EXPECT_FALSE(figure.contains("application/vnd.plotly.v1+json"));
  ASSERT_TRUE(figure.at("extra").is_object());
  const auto& extra = figure.at("extra").as_object();
  ASSERT_EQ(extra.size(), 1u);
  ASSERT_TRUE(extra.contains("application/vnd.plotly.v1+json"));
  const auto& plotly = extra.at("application/vnd.plotly.v1+json");
  ASSERT_TRUE(plotly.is_object());
  EXPECT_TRUE(plotly.as_object().contains("data"));
  EXPECT_TRUE(figure.at("html").is_string());
  // The first display (the Plotly loader script) has no unknown MIME: extra stays empty.
  EXPECT_EQ(results[0].at("extra"), json::object{});
}

TEST(NdjsonMapping, DisplayedStringReprLosesItsQuotesAndClearOutputSendsNothing) {
  const Cell cell = load_cell("python_14_update_display_and_clear.json");
  bool saw_clear = false;
  for (const auto& event : cell.events)
    saw_clear = saw_clear || std::holds_alternative<jupyter::ClearOutput>(event);
  ASSERT_TRUE(saw_clear);
  const auto lines = map_all(cell.events);
  const auto results = lines_of(lines, "result");
  ASSERT_FALSE(results.empty());
  EXPECT_EQ(results[0].at("text"), "first");  // the kernel sent text/plain "'first'"
  const auto stdout_lines = lines_of(lines, "stdout");
  ASSERT_EQ(stdout_lines.size(), 2u);
  EXPECT_EQ(stdout_lines[0].at("text"), "to be cleared\n");
  EXPECT_EQ(stdout_lines[1].at("text"), "after clear\n");
  // Nothing but count, results and streams: clear_output has no NDJSON form.
  EXPECT_EQ(lines.size(), 1 + results.size() + stdout_lines.size());
}

TEST(NdjsonMapping, ResultLineStripsQuotedTextPlain) {
  jupyter::DisplayOutput output;
  output.data["text/plain"] = "'abc'";
  output.is_execute_result = true;
  EXPECT_EQ(result_line(output).at("text"), "abc");
  output.data["text/plain"] = "\"abc\"";
  EXPECT_EQ(result_line(output).at("text"), "abc");
  // Only text/plain is stripped.
  output.data["text/html"] = "'<b>x</b>'";
  EXPECT_EQ(result_line(output).at("html"), "'<b>x</b>'");
}

TEST(NdjsonMapping, StripReprQuotes) {
  EXPECT_EQ(strip_repr_quotes("'abc'"), "abc");
  EXPECT_EQ(strip_repr_quotes("\"abc\""), "abc");
  EXPECT_EQ(strip_repr_quotes("''"), "");
  EXPECT_EQ(strip_repr_quotes("''x''"), "'x'");  // one pair only
  EXPECT_EQ(strip_repr_quotes("'abc\""), "'abc\"");
  EXPECT_EQ(strip_repr_quotes("'"), "'");
  EXPECT_EQ(strip_repr_quotes("\""), "\"");
  EXPECT_EQ(strip_repr_quotes("abc"), "abc");
  EXPECT_EQ(strip_repr_quotes("'a' + 'b'"), "a' + 'b");  // E2B strips blindly too
  EXPECT_EQ(strip_repr_quotes(""), "");
}

TEST(NdjsonMapping, UnknownMimeTypesKeepTheirValues) {
  jupyter::DisplayOutput output;
  output.data["text/plain"] = "x";
  output.data["image/png"] = "iVBORw0KGgo=";
  output.data["application/x-custom"] = json::array{1, 2};
  output.data["e2b/chart"] = json::parse(R"({"type":"line","title":null})");
  const auto line = result_line(output);
  EXPECT_EQ(line.at("png"), "iVBORw0KGgo=");
  EXPECT_EQ(line.at("is_main_result"), false);
  EXPECT_EQ(line.at("extra"), (json::object{{"application/x-custom", json::array{1, 2}}}));
  // Nested objects keep their null members.
  EXPECT_EQ(line.at("chart"), json::parse(R"({"type":"line","title":null})"));
}

jupyter::ExecuteError sample_error(std::string name) {
  return jupyter::ExecuteError{std::move(name), "boom", {"Traceback:", "  line 1", "Error: boom"}};
}

TEST(NdjsonMapping, SecondErrorIsSuppressed) {
  ExecutionMapper mapper;
  auto first = mapper.map(sample_error("ValueError"), kTimestamp);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->at("name"), "ValueError");
  EXPECT_EQ(first->at("traceback"), "Traceback:\n  line 1\nError: boom");
  EXPECT_FALSE(mapper.map(sample_error("KeyError"), kTimestamp));
  // Other output still flows after the error.
  EXPECT_TRUE(mapper.map(jupyter::StreamOutput{false, "still here"}, kTimestamp));
  // And the end of a failed cell adds nothing.
  EXPECT_FALSE(mapper.map(ExecuteDone{ExecuteDone::Status::kError, ""}, kTimestamp));
}

struct SyntheticCase {
  ExecuteDone::Status status;
  std::string detail;
  std::string name;
  std::string value;
};

TEST(NdjsonMapping, AbnormalEndsGiveSyntheticErrors) {
  const std::vector<SyntheticCase> cases = {
      {ExecuteDone::Status::kKernelDied, "", "KernelDied", "The kernel died and was restarted"},
      {ExecuteDone::Status::kKernelDied, "exit code 9", "KernelDied", "exit code 9"},
      {ExecuteDone::Status::kKernelRestarted, "", "ContextRestarting", "Context was restarted"},
      {ExecuteDone::Status::kAborted, "", "ExecutionAborted", "Execution was aborted"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name + " " + c.detail);
    {
      ExecutionMapper mapper;
      ASSERT_TRUE(mapper.map(jupyter::ExecutionCount{3}, kTimestamp));
      ASSERT_TRUE(mapper.map(jupyter::StreamOutput{false, "partial"}, kTimestamp));
      auto line = mapper.map(ExecuteDone{c.status, c.detail}, kTimestamp);
      ASSERT_TRUE(line);
      EXPECT_EQ(*line,
                (json::object{{"type", "error"}, {"name", c.name}, {"value", c.value}, {"traceback", ""}}));
      expect_wire_valid(*line, c.name);
      // Only one error per execution, synthetic or not.
      EXPECT_FALSE(mapper.map(sample_error("LateError"), kTimestamp));
    }
    {
      ExecutionMapper mapper;
      ASSERT_TRUE(mapper.map(sample_error("RuntimeError"), kTimestamp));
      EXPECT_FALSE(mapper.map(ExecuteDone{c.status, c.detail}, kTimestamp));
    }
  }
}

TEST(NdjsonMapping, NormalEndsSendNothing) {
  ExecutionMapper mapper;
  EXPECT_FALSE(mapper.map(ExecuteDone{ExecuteDone::Status::kOk, ""}, kTimestamp));
  ExecutionMapper other;
  EXPECT_FALSE(other.map(ExecuteDone{ExecuteDone::Status::kError, ""}, kTimestamp));
}

TEST(NdjsonMapping, EmptyOutputsSendNoLine) {
  ExecutionMapper mapper;
  // An empty line would make the SDK's JSON.parse throw; empty output has nothing to say either.
  EXPECT_FALSE(mapper.map(jupyter::StreamOutput{false, ""}, kTimestamp));
  EXPECT_FALSE(mapper.map(jupyter::DisplayOutput{}, kTimestamp));
  EXPECT_FALSE(mapper.map(jupyter::ClearOutput{true}, kTimestamp));
}

TEST(NdjsonMapping, ControlCharactersStayEscapedOnOneLine) {
  ExecutionMapper mapper;
  auto line = mapper.map(jupyter::StreamOutput{true, "a\nb\r\n\x01\"\\ é\u2028"}, kTimestamp);
  ASSERT_TRUE(line);
  expect_wire_valid(*line, "stream");
  EXPECT_EQ(line->at("type"), "stderr");
  EXPECT_EQ(json::parse(json::serialize(*line)).at("text"), "a\nb\r\n\x01\"\\ é\u2028");
  auto error = error_line("E", "multi\nline", "t1\nt2");
  expect_wire_valid(error, "error");
}

TEST(NdjsonMapping, FixedLines) {
  EXPECT_EQ(count_line(7), (json::object{{"type", "number_of_executions"}, {"execution_count", 7}}));
  EXPECT_EQ(keepalive_line(), (json::object{{"type", "keepalive"}}));
  EXPECT_EQ(end_line(), (json::object{{"type", "end_of_execution"}}));
}

}  // namespace
}  // namespace cellblock::interpreter
