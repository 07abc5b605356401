#include "chat/openai_stream.h"

#include "chat_stream_test_support.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cellblock::chat {
namespace {

std::vector<std::string> run_all_ways(std::string_view stream) {
  return testing::run_all_ways<OpenAiStream>(stream);
}

// Copied from the spec (llm-and-ui-stream.md §2.2), with the elided usage numbers filled in. The single
// arguments fragment is truncated JSON, so the tool input is invalid.
constexpr std::string_view kSpecToolCall =
    R"SSE(data: {"id":"chatcmpl-…","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"run_code","arguments":""}}]},"finish_reason":null}]}

data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"code\":\"imp"}}]},"finish_reason":null}]}

data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"choices":[],"usage":{"prompt_tokens":120,"completion_tokens":30,"total_tokens":150}}

data: [DONE]

)SSE";

TEST(OpenAiStream, SpecToolCall) {
  std::vector<std::string> expected{
      "start call_abc run_code",
      "delta call_abc {\"code\":\"imp",
      "error invalid_tool_input run_code",
      "finish tool-calls tool_calls in=120 out=30",
  };
  EXPECT_EQ(run_all_ways(kSpecToolCall), expected);
}

TEST(OpenAiStream, TextThenToolCallFromFragments) {
  constexpr std::string_view stream =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Plotting\"},"
      "\"finish_reason\":null}]}\r\n\r\n"
      ": keep-alive\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" it.\"},\"finish_reason\":null}]}\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":"
      "\"function\",\"function\":{\"name\":\"run_code\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}"
      "\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
      "\"{\\\"code\\\":\"}}]},\"finish_reason\":null}]}\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
      "\"\\\"print(1)\\\"\"}}]},\"finish_reason\":null}]}\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
      "\"}\"}}]},\"finish_reason\":null}]}\r\n\r\n"
      // A compatible server reporting "stop" after tool calls: still a tool step.
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\r\n\r\n"
      "data: [DONE]\r\n\r\n";
  std::vector<std::string> expected{
      "text Plotting",
      "text  it.",
      "start call_1 run_code",
      "delta call_1 {\"code\":",
      "delta call_1 \"print(1)\"",
      "delta call_1 }",
      "end call_1 run_code {\"code\":\"print(1)\"}",
      "finish tool-calls stop in=- out=-",
  };
  EXPECT_EQ(run_all_ways(stream), expected);
}

TEST(OpenAiStream, ParallelToolCallsInterleavedByIndex) {
  constexpr std::string_view stream =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":"
      "\"function\",\"function\":{\"name\":\"run_code\",\"arguments\":\"{\\\"code\\\":\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":"
      "\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"{\\\"pa\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
      "\"\\\"1+1\\\"}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
      "\"th\\\":\\\"/a\\\"}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":9,\"total_tokens\":16}}\n\n"
      "data: [DONE]\n\n";
  std::vector<std::string> expected{
      "start call_a run_code",
      "delta call_a {\"code\":",
      "start call_b read_file",
      "delta call_b {\"pa",
      "delta call_a \"1+1\"}",
      "delta call_b th\":\"/a\"}",
      "end call_a run_code {\"code\":\"1+1\"}",
      "end call_b read_file {\"path\":\"/a\"}",
      "finish tool-calls tool_calls in=7 out=9",
  };
  EXPECT_EQ(run_all_ways(stream), expected);
}

TEST(OpenAiStream, MissingIdGetsAStableOne) {
  constexpr std::string_view stream =
      "data: "
      "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":2,\"function\":{\"arguments\":\"{\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":2,\"function\":{\"name\":\"run_code\","
      "\"arguments\":\"}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n";
  // No [DONE]: finish_reason was seen, so the end of the body finishes the stream.
  std::vector<std::string> expected{"start call_2 run_code", "delta call_2 {}", "end call_2 run_code {}",
                                    "finish tool-calls tool_calls in=- out=-"};
  EXPECT_EQ(run_all_ways(stream), expected);
}

TEST(OpenAiStream, LengthAndPlainStop) {
  constexpr std::string_view stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"abc\"},\"finish_reason\":null}]}\n\n"
      "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\n"
      "data: [DONE]\n\n";
  EXPECT_EQ(run_all_ways(stream), (std::vector<std::string>{"text abc", "finish length length in=- out=-"}));
  EXPECT_EQ(openai_finish_reason("stop"), FinishReason::kStop);
  EXPECT_EQ(openai_finish_reason("function_call"), FinishReason::kToolCalls);
  EXPECT_EQ(openai_finish_reason("content_filter"), FinishReason::kOther);
}

TEST(OpenAiStream, ErrorObjectInStream) {
  constexpr std::string_view stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      "data: {\"error\":{\"message\":\"The server is "
      "overloaded\",\"type\":\"server_error\",\"code\":null}}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"ignored\"}}]}\n\n"
      "data: [DONE]\n\n";
  EXPECT_EQ(run_all_ways(stream), (std::vector<std::string>{"text Hi", "error server_error "}));
  OpenAiStream parser;
  std::vector<ProviderEvent> events;
  parser.feed(stream, events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(std::get<StreamError>(events[1]).message, "The server is overloaded");
}

TEST(OpenAiStream, MalformedJsonIsAnErrorNotACrash) {
  constexpr std::string_view stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\n\n"
      "data: [DONE]\n\n";
  EXPECT_EQ(run_all_ways(stream), (std::vector<std::string>{"text Hi", "error invalid_json "}));
}

// Ollama emits each call whole (name and complete arguments in one chunk) and may report `stop` even though
// it called a tool: the step is still a tool step.
TEST(OpenAiStream, WholeCallInOneChunkAsOllamaSendsIt) {
  constexpr std::string_view stream =
      "data: "
      "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":"
      "\"call_x\",\"index\":0,\"type\":\"function\",\"function\":{\"name\":\"run_code\",\"arguments\":"
      "\"{\\\"code\\\":\\\"print(1)\\\"}\"}}]},\"finish_reason\":null}]}\n\n"
      "data: "
      "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":"
      "\"stop\"}]}\n\n"
      "data: [DONE]\n\n";
  std::vector<std::string> expected{
      "start call_x run_code",
      "delta call_x {\"code\":\"print(1)\"}",
      "end call_x run_code {\"code\":\"print(1)\"}",
      "finish tool-calls stop in=- out=-",
  };
  EXPECT_EQ(run_all_ways(stream), expected);
}

TEST(OpenAiStream, TruncatedBodyIsIncomplete) {
  constexpr std::string_view stream = "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n";
  EXPECT_EQ(run_all_ways(stream), (std::vector<std::string>{"text Hi", "error incomplete_stream "}));
}

}  // namespace
}  // namespace cellblock::chat
