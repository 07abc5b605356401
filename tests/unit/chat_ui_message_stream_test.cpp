#include "chat/ui_message_stream.h"

#include <gtest/gtest.h>

#include <string>

namespace cellblock::chat {
namespace {

namespace json = boost::json;

// The example turn from the spec (llm-and-ui-stream.md §5.3), one `data:` line per chunk; on the wire each
// line is followed by an empty line.
constexpr std::string_view kSpecTurn = R"UI(data: {"type":"start","messageId":"m_42"}
data: {"type":"start-step"}
data: {"type":"text-start","id":"m_42-0"}
data: {"type":"text-delta","id":"m_42-0","delta":"Plotting it now."}
data: {"type":"text-end","id":"m_42-0"}
data: {"type":"tool-input-start","toolCallId":"toolu_01","toolName":"run_code"}
data: {"type":"tool-input-delta","toolCallId":"toolu_01","inputTextDelta":"{\"title\":\"Sine\",\"code\":\"import numpy"}
data: {"type":"tool-input-delta","toolCallId":"toolu_01","inputTextDelta":" as np …\"}"}
data: {"type":"tool-input-available","toolCallId":"toolu_01","toolName":"run_code","input":{"title":"Sine","description":"Plot sin(x)","code":"import numpy as np …"}}
data: {"type":"data-status","id":"s1","data":{"text":"starting kernel"},"transient":true}
data: {"type":"tool-output-available","toolCallId":"toolu_01","preliminary":true,"output":{"stdout":"step 1\n","results":[],"error":null}}
data: {"type":"tool-output-available","toolCallId":"toolu_01","output":{"stdout":"step 1\n","stderr":"","results":[{"kind":"image","url":"/api/files/r1.png"},{"kind":"chart","chart":{"type":"line","title":"Sine","elements":[]}}],"error":null,"execution_count":3}}
data: {"type":"finish-step"}
data: {"type":"start-step"}
data: {"type":"text-start","id":"m_42-1"}
data: {"type":"text-delta","id":"m_42-1","delta":"The plot shows…"}
data: {"type":"text-end","id":"m_42-1"}
data: {"type":"finish-step"}
data: {"type":"finish","finishReason":"stop"}
data: [DONE]
)UI";

std::string wire(std::string_view lines) {
  std::string out;
  for (char c : lines) {
    out.push_back(c);
    if (c == '\n') out.push_back('\n');
  }
  return out;
}

TEST(UiMessageStream, SpecExampleTurn) {
  json::object input{{"title", "Sine"}, {"description", "Plot sin(x)"}, {"code", "import numpy as np …"}};
  json::value preliminary = json::parse(R"({"stdout":"step 1\n","results":[],"error":null})");
  json::value final_output = json::parse(
      R"({"stdout":"step 1\n","stderr":"","results":[{"kind":"image","url":"/api/files/r1.png"},)"
      R"({"kind":"chart","chart":{"type":"line","title":"Sine","elements":[]}}],"error":null,"execution_count":3})");
  std::string out;
  out += ui::frame(ui::start("m_42"));
  out += ui::frame(ui::start_step());
  out += ui::frame(ui::text_start("m_42-0"));
  out += ui::frame(ui::text_delta("m_42-0", "Plotting it now."));
  out += ui::frame(ui::text_end("m_42-0"));
  out += ui::frame(ui::tool_input_start("toolu_01", "run_code"));
  out += ui::frame(ui::tool_input_delta("toolu_01", "{\"title\":\"Sine\",\"code\":\"import numpy"));
  out += ui::frame(ui::tool_input_delta("toolu_01", " as np …\"}"));
  out += ui::frame(ui::tool_input_available("toolu_01", "run_code", input));
  out += ui::frame(ui::data_part("status", "s1", json::object{{"text", "starting kernel"}}, true));
  out += ui::frame(ui::tool_output_available("toolu_01", preliminary, true));
  out += ui::frame(ui::tool_output_available("toolu_01", final_output));
  out += ui::frame(ui::finish_step());
  out += ui::frame(ui::start_step());
  out += ui::frame(ui::text_start("m_42-1"));
  out += ui::frame(ui::text_delta("m_42-1", "The plot shows…"));
  out += ui::frame(ui::text_end("m_42-1"));
  out += ui::frame(ui::finish_step());
  out += ui::frame(ui::finish(FinishReason::kStop));
  out += ui::done();
  EXPECT_EQ(out, wire(kSpecTurn));
}

TEST(UiMessageStream, EachChunkIsOneLine) {
  std::string chunk = ui::frame(ui::text_delta("t", "line 1\nline 2\r\n\"quoted\""));
  EXPECT_EQ(
      chunk,
      "data: {\"type\":\"text-delta\",\"id\":\"t\",\"delta\":\"line 1\\nline 2\\r\\n\\\"quoted\\\"\"}\n\n");
  EXPECT_EQ(chunk.find('\n'), chunk.size() - 2);
}

TEST(UiMessageStream, OtherChunks) {
  EXPECT_EQ(ui::frame(ui::start()), "data: {\"type\":\"start\"}\n\n");
  EXPECT_EQ(ui::frame(ui::reset_step()), "data: {\"type\":\"reset-step\"}\n\n");
  EXPECT_EQ(ui::frame(ui::error("Overloaded")),
            "data: {\"type\":\"error\",\"errorText\":\"Overloaded\"}\n\n");
  EXPECT_EQ(ui::frame(ui::finish()), "data: {\"type\":\"finish\"}\n\n");
  EXPECT_EQ(ui::frame(ui::finish(FinishReason::kToolCalls)),
            "data: {\"type\":\"finish\",\"finishReason\":\"tool-calls\"}\n\n");
  EXPECT_EQ(ui::frame(ui::finish("interrupted")),
            "data: {\"type\":\"finish\",\"finishReason\":\"interrupted\"}\n\n");
  EXPECT_EQ(
      ui::frame(ui::tool_input_error("c", "run_code", json::string("{\"co"), "bad JSON")),
      "data: "
      "{\"type\":\"tool-input-error\",\"toolCallId\":\"c\",\"toolName\":\"run_code\",\"input\":\"{\\\"co\","
      "\"errorText\":\"bad JSON\"}\n\n");
  EXPECT_EQ(ui::frame(ui::tool_output_error("c", "boom")),
            "data: {\"type\":\"tool-output-error\",\"toolCallId\":\"c\",\"errorText\":\"boom\"}\n\n");
  EXPECT_EQ(ui::frame(ui::data_part("usage", "", json::object{{"n", 1}})),
            "data: {\"type\":\"data-usage\",\"data\":{\"n\":1}}\n\n");
  EXPECT_EQ(ui::frame(ui::message_metadata(json::object{{"model", "m"}})),
            "data: {\"type\":\"message-metadata\",\"messageMetadata\":{\"model\":\"m\"}}\n\n");
  EXPECT_EQ(ui::frame(ui::reasoning_delta("r", "hm")),
            "data: {\"type\":\"reasoning-delta\",\"id\":\"r\",\"delta\":\"hm\"}\n\n");
  EXPECT_EQ(ui::frame(ui::abort()), "data: {\"type\":\"abort\"}\n\n");
  EXPECT_EQ(ui::done(), "data: [DONE]\n\n");
  EXPECT_EQ(ui::keep_alive(), ": keep-alive\n\n");
}

TEST(UiMessageStream, ResponseHeaders) {
  auto find = [](std::string_view name) -> std::string_view {
    for (const auto& [key, value] : ui::kResponseHeaders) {
      if (key == name) return value;
    }
    return "<missing>";
  };
  EXPECT_EQ(find("content-type"), "text/event-stream");
  EXPECT_EQ(find("cache-control"), "no-cache");
  EXPECT_EQ(find("connection"), "keep-alive");
  EXPECT_EQ(find("x-vercel-ai-ui-message-stream"), "v1");
  EXPECT_EQ(find("x-accel-buffering"), "no");
}

}  // namespace
}  // namespace cellblock::chat
