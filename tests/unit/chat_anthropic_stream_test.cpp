#include "chat/anthropic_stream.h"

#include "chat_stream_test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cellblock::chat {
namespace {

std::vector<std::string> run(std::string_view stream, std::size_t split_at, bool byte_by_byte = false) {
  return testing::run<AnthropicStream>(stream, split_at, byte_by_byte);
}
std::vector<std::string> run_all_ways(std::string_view stream) {
  return testing::run_all_ways<AnthropicStream>(stream);
}

// Copied from the spec (llm-and-ui-stream.md §1.2): a typical tool turn. Its single partial_json fragment is
// truncated JSON, so the tool input is invalid.
constexpr std::string_view kSpecToolTurn = R"SSE(event: message_start
data: {"type":"message_start","message":{"id":"msg_…","type":"message","role":"assistant","model":"…","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":849,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type":"ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll plot"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01…","name":"run_code","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"code\": \"import"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":87}}

event: message_stop
data: {"type":"message_stop"}

)SSE";

TEST(AnthropicStream, SpecToolTurn) {
  std::vector<std::string> expected{
      "text I'll plot",
      "start toolu_01… run_code",
      "delta toolu_01… {\"code\": \"import",
      "error invalid_tool_input run_code",
      "finish tool-calls tool_use in=849 out=87",
  };
  EXPECT_EQ(run_all_ways(kSpecToolTurn), expected);
}

TEST(AnthropicStream, InvalidToolInputNamesTheTool) {
  AnthropicStream parser;
  std::vector<ProviderEvent> events;
  parser.feed(kSpecToolTurn, events);
  const StreamError* error = nullptr;
  for (const auto& event : events) {
    if (auto* e = std::get_if<StreamError>(&event)) error = e;
  }
  ASSERT_NE(error, nullptr);
  EXPECT_EQ(error->tool_call_id, "toolu_01…");
  EXPECT_EQ(error->raw_input, "{\"code\": \"import");
  EXPECT_NE(error->message.find("run_code"), std::string::npos) << error->message;
}

// The same turn with the input split into several fragments that do form an object, CRLF line ends, and
// thinking blocks that must be tolerated.
constexpr std::string_view kFragmentedInput =
    "event: message_start\r\n"
    "data: "
    "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: "
    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":"
    "\"\"}}"
    "\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: "
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":"
    "\"hm\"}}"
    "\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: "
    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":"
    "\"s\"}}"
    "\r\n\r\n"
    "event: content_block_stop\r\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\r\n\r\n"
    "event: content_block_start\r\n"
    "data: "
    "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_"
    "9\","
    "\"name\":\"run_code\",\"input\":{}}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"{\\\"title\\\":\\\"Sine\\\",\"}}\r\n\r\n"
    "event: ping\r\ndata: {\"type\":\"ping\"}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\"\\\"code\\\":\\\"import numpy\"}}\r\n\r\n"
    "event: content_block_delta\r\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\","
    "\"partial_json\":\" as np\\\\n\\\"}\"}}\r\n\r\n"
    "event: content_block_stop\r\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\r\n\r\n"
    "event: message_delta\r\n"
    "data: "
    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":40}}"
    "\r\n\r\n"
    "event: message_stop\r\n"
    "data: {\"type\":\"message_stop\"}\r\n\r\n";

TEST(AnthropicStream, ToolInputAssembledFromFragments) {
  std::vector<std::string> expected{
      "start toolu_9 run_code",
      "delta toolu_9 {\"title\":\"Sine\",",
      "delta toolu_9 \"code\":\"import numpy",
      "delta toolu_9  as np\\n\"}",
      "end toolu_9 run_code {\"title\":\"Sine\",\"code\":\"import numpy as np\\n\"}",
      "finish tool-calls tool_use in=10 out=40",
  };
  EXPECT_EQ(run_all_ways(kFragmentedInput), expected);

  AnthropicStream parser;
  std::vector<ProviderEvent> events;
  parser.feed(kFragmentedInput, events);
  ASSERT_EQ(events.size(), 6u);
  const auto& end = std::get<ToolCallEnd>(events[4]);
  EXPECT_EQ(end.input.at("code").as_string(), "import numpy as np\n");
}

TEST(AnthropicStream, OverloadedErrorMidStream) {
  constexpr std::string_view stream =
      "event: message_start\n"
      "data: "
      "{\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\n"
      "data: "
      "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\n"
      "data: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}"
      "\n\n"
      "event: error\n"
      "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
      "event: content_block_delta\n"
      "data: "
      "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}"
      "\n\n";
  std::vector<std::string> expected{"text Hel", "error overloaded_error "};
  EXPECT_EQ(run_all_ways(stream), expected);

  AnthropicStream parser;
  std::vector<ProviderEvent> events;
  parser.feed(stream, events);
  EXPECT_TRUE(parser.done());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<StreamError>(events[1]).message, "Overloaded");
}

TEST(AnthropicStream, MalformedJsonIsAnErrorNotACrash) {
  constexpr std::string_view stream =
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_de\n\n"
      "event: message_stop\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  EXPECT_EQ(run_all_ways(stream), std::vector<std::string>{"error invalid_json "});
  EXPECT_EQ(run_all_ways("event: ping\ndata: [1,2]\n\n"), std::vector<std::string>{"error invalid_json "});
}

TEST(AnthropicStream, TruncatedBodyIsIncomplete) {
  std::string_view cut = kSpecToolTurn.substr(0, kSpecToolTurn.find("event: message_delta"));
  auto lines = run(cut, cut.size());
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.back(), "error incomplete_stream ");
}

TEST(AnthropicStream, StopReasons) {
  EXPECT_EQ(anthropic_finish_reason("end_turn"), FinishReason::kStop);
  EXPECT_EQ(anthropic_finish_reason("stop_sequence"), FinishReason::kStop);
  EXPECT_EQ(anthropic_finish_reason("tool_use"), FinishReason::kToolCalls);
  EXPECT_EQ(anthropic_finish_reason("max_tokens"), FinishReason::kLength);
  EXPECT_EQ(anthropic_finish_reason("model_context_window_exceeded"), FinishReason::kLength);
  EXPECT_EQ(anthropic_finish_reason("refusal"), FinishReason::kOther);
  EXPECT_EQ(anthropic_finish_reason("pause_turn"), FinishReason::kOther);
}

TEST(AnthropicStream, EmptyInputIsAnEmptyObject) {
  constexpr std::string_view stream =
      "event: content_block_start\n"
      "data: "
      "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\","
      "\"name\":\"list\",\"input\":{}}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\","
      "\"partial_json\":\"\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\n"
      "data: "
      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}"
      "\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  std::vector<std::string> expected{"start t list", "end t list {}", "finish stop end_turn in=- out=3"};
  EXPECT_EQ(run_all_ways(stream), expected);
}

}  // namespace
}  // namespace cellblock::chat
