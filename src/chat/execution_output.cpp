#include "chat/execution_output.h"

#include <fmt/format.h>

#include "chat/stream_json.h"

namespace cellblock::chat {

namespace json = boost::json;

namespace {

constexpr std::size_t kStreamLimitForModel = 8000;
constexpr std::size_t kTracebackLimitForModel = 4000;
constexpr std::size_t kResultTextLimitForModel = 4000;

// A UTF-8 continuation byte (10xxxxxx) cannot start a character.
bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

std::string describe_chart(const json::object& chart) {
  std::string type(string_field(chart, "type"));
  std::string title(string_field(chart, "title"));
  std::size_t elements = 0;
  if (const json::array* list = array_field(chart, "elements")) elements = list->size();
  std::string text = fmt::format("[chart shown to the user: {} chart", type.empty() ? "unknown" : type);
  if (!title.empty()) text += fmt::format(" '{}'", title);
  if (elements > 0) text += fmt::format(", {} element{}", elements, elements == 1 ? "" : "s");
  return text + "]";
}

// One result as text for the model.
std::string describe_result(const json::object& result) {
  std::vector<std::string> lines;
  if (const json::object* chart = object_field(result, "chart")) lines.push_back(describe_chart(*chart));
  for (std::string_view format : {"png", "jpeg", "svg"}) {
    if (result.contains(format) && !object_field(result, "chart")) {
      lines.push_back(fmt::format("[{} image shown to the user]", format));
      break;
    }
  }
  if (result.contains("html")) lines.push_back("[HTML shown to the user]");
  if (result.contains("data")) lines.push_back("[table shown to the user]");
  if (result.contains("pdf")) lines.push_back("[PDF shown to the user]");
  if (std::string_view text = string_field(result, "text"); !text.empty()) {
    lines.push_back(trim_middle(text, kResultTextLimitForModel));
  }
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += "\n";
    out += line;
  }
  return out;
}

}  // namespace

ExecutionOutput::ExecutionOutput() {
  json_["stdout"] = "";
  json_["stderr"] = "";
  json_["results"] = json::array();
  json_["error"] = nullptr;
  json_["executionCount"] = nullptr;
}

void ExecutionOutput::append_stream(std::string_view field, const json::object& line) {
  json_.at(field).as_string().append(string_field(line, "text"));
}

bool ExecutionOutput::apply_line(std::string_view text) {
  auto parsed = parse_data_object(text);
  if (!parsed) return false;
  const json::object& line = *parsed;
  std::string_view type = string_field(line, "type");
  if (type == "stdout" || type == "stderr") {
    append_stream(type, line);
  } else if (type == "result") {
    json::object result;
    for (const auto& [key, value] : line) {
      if (key == "type") continue;
      if (key == "is_main_result") {
        result["isMainResult"] = value;
      } else {
        result[key] = value;
      }
    }
    json_.at("results").as_array().push_back(std::move(result));
  } else if (type == "error") {
    json::object error;
    error["name"] = string_field(line, "name");
    error["value"] = string_field(line, "value");
    error["traceback"] = string_field(line, "traceback");
    json_["error"] = std::move(error);
  } else if (type == "number_of_executions") {
    if (auto count = int_field(line, "execution_count")) json_["executionCount"] = *count;
  } else if (type == "end_of_execution") {
    ended_ = true;
  }
  return true;
}

void ExecutionOutput::set_error(std::string_view name, std::string_view value) {
  json::object error;
  error["name"] = name;
  error["value"] = value;
  error["traceback"] = "";
  json_["error"] = std::move(error);
}

ToolResult tool_result_from_output(std::string tool_call_id, const json::object& output, bool with_images) {
  ToolResult result;
  result.tool_call_id = std::move(tool_call_id);
  std::string text;
  auto section = [&text](std::string_view label, std::string_view body) {
    if (body.empty()) return;
    if (!text.empty()) text += "\n";
    text += label;
    text += ":\n";
    text += body;
    if (body.back() != '\n') text += "\n";
  };
  section("stdout", trim_middle(strip_ansi(string_field(output, "stdout")), kStreamLimitForModel));
  section("stderr", trim_middle(strip_ansi(string_field(output, "stderr")), kStreamLimitForModel));
  if (const json::array* results = array_field(output, "results")) {
    for (const json::value& value : *results) {
      const json::object* item = value.if_object();
      if (item == nullptr) continue;
      section("result", describe_result(*item));
      if (!with_images) continue;
      if (std::string_view png = string_field(*item, "png"); !png.empty()) {
        result.png_base64.emplace_back(png);
      }
    }
  }
  if (const json::object* error = object_field(output, "error")) {
    result.is_error = true;
    std::string headline = fmt::format("{}: {}", string_field(*error, "name"), string_field(*error, "value"));
    section("error", headline);
    section("traceback", trim_middle(strip_ansi(string_field(*error, "traceback")), kTracebackLimitForModel));
  }
  result.text = text.empty() ? "(the code ran and printed nothing)" : text;
  return result;
}

std::string strip_ansi(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\x1b') {
      out.push_back(text[i]);
      continue;
    }
    // CSI: ESC [ parameters… final byte in 0x40–0x7E. Other escapes are two bytes.
    if (i + 1 < text.size() && text[i + 1] == '[') {
      std::size_t j = i + 2;
      while (j < text.size() && !(text[j] >= 0x40 && text[j] <= 0x7E)) ++j;
      i = j;
    } else {
      ++i;
    }
  }
  return out;
}

std::string trim_middle(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t head = limit / 2;
  std::size_t tail_start = text.size() - (limit - head);
  while (head > 0 && is_continuation(text[head])) --head;
  while (tail_start < text.size() && is_continuation(text[tail_start])) ++tail_start;
  return fmt::format("{}\n… [{} bytes cut] …\n{}", text.substr(0, head), tail_start - head,
                     text.substr(tail_start));
}

}  // namespace cellblock::chat
