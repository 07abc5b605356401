// The stored-message side of the chat: folding UI chunks into a message, turning stored messages back into
// model messages, and building both providers' request bodies from them.

#include <gtest/gtest.h>

#include "chat/execution_output.h"
#include "chat/fenced_code.h"
#include "chat/request_body.h"
#include "chat/ui_message.h"
#include "chat/ui_message_stream.h"

namespace cellblock::chat {
namespace {

namespace json = boost::json;

json::object output_with(std::string_view stdout_text, bool error) {
  ExecutionOutput output;
  output.apply_line(R"({"type":"stdout","text":")" + std::string(stdout_text) + R"("})");
  if (error) {
    output.apply_line(
        R"({"type":"error","name":"NameError","value":"name 'np' is not defined","traceback":"\u001b[31mNameError\u001b[0m: boom"})");
  }
  output.apply_line(R"({"type":"end_of_execution"})");
  return output.json();
}

// A two-step answer: a failing cell, a fixed cell, then text.
UiMessageBuilder sample_answer() {
  UiMessageBuilder builder;
  json::object input1{{"code", "print(np.pi)"}};
  json::object input2{{"code", "import numpy as np\nprint(np.pi)"}};
  for (const json::object& chunk : {ui::start("m1"),
                                    ui::start_step(),
                                    ui::text_start("t0"),
                                    ui::text_delta("t0", "Computing "),
                                    ui::text_delta("t0", "pi."),
                                    ui::text_end("t0"),
                                    ui::tool_input_start("c1", "run_code"),
                                    ui::tool_input_delta("c1", "{\"code\":"),
                                    ui::tool_input_available("c1", "run_code", input1),
                                    ui::tool_output_available("c1", output_with("", true)),
                                    ui::finish_step(),
                                    ui::start_step(),
                                    ui::tool_input_start("c2", "run_code"),
                                    ui::tool_input_available("c2", "run_code", input2),
                                    ui::tool_output_available("c2", output_with("partial", false), true),
                                    ui::tool_output_available("c2", output_with("3.14159\\n", false)),
                                    ui::finish_step(),
                                    ui::start_step(),
                                    ui::text_start("t1"),
                                    ui::text_delta("t1", "Pi is 3.14159."),
                                    ui::text_end("t1"),
                                    ui::finish_step(),
                                    ui::finish("stop")}) {
    builder.apply(chunk);
  }
  return builder;
}

TEST(UiMessageBuilder, FoldsChunksIntoPartsAsTheBrowserDoes) {
  UiMessageBuilder builder = sample_answer();
  const json::array& parts = builder.parts();
  ASSERT_EQ(parts.size(), 7u);
  EXPECT_EQ(parts[0].at("type"), "step-start");
  EXPECT_EQ(parts[1].at("text"), "Computing pi.");
  EXPECT_EQ(parts[1].at("state"), "done");
  EXPECT_EQ(parts[2].at("type"), "tool-run_code");
  EXPECT_EQ(parts[2].at("state"), "output-available");
  EXPECT_EQ(parts[2].at("output").at("error").at("name"), "NameError");
  EXPECT_FALSE(parts[4].as_object().contains("preliminary"))
      << "the final output replaces the preliminary one";
  EXPECT_EQ(parts[4].at("output").at("stdout"), "3.14159\n");
  EXPECT_EQ(builder.metadata().at("finishReason"), "stop");
}

TEST(UiMessageBuilder, ResetStepDropsTheFailedStep) {
  UiMessageBuilder builder;
  for (const json::object& chunk :
       {ui::start_step(), ui::text_start("a"), ui::text_delta("a", "kept"), ui::text_end("a"),
        ui::finish_step(), ui::start_step(), ui::text_start("b"), ui::text_delta("b", "half"),
        ui::reset_step(), ui::start_step()}) {
    builder.apply(chunk);
  }
  ASSERT_EQ(builder.parts().size(), 3u);
  EXPECT_EQ(builder.parts()[1].at("text"), "kept");
  EXPECT_EQ(builder.parts()[2].at("type"), "step-start");
}

TEST(UiMessageBuilder, KeepsTheMetadataTheStreamSent) {
  UiMessageBuilder builder;
  json::object usage{{"inputTokens", 120}, {"outputTokens", 30}};
  for (const json::object& chunk :
       {ui::start("m1"), ui::message_metadata(json::object{{"usage", usage}, {"model", "x"}}),
        ui::message_metadata(json::object{{"model", "y"}}), ui::error("boom"), ui::finish("error")}) {
    builder.apply(chunk);
  }
  json::object metadata = builder.metadata();
  EXPECT_EQ(metadata.at("usage").at("inputTokens"), 120);
  EXPECT_EQ(metadata.at("model"), "y") << "later metadata replaces earlier keys";
  EXPECT_EQ(metadata.at("finishReason"), "error");
  EXPECT_EQ(metadata.at("error"), "boom");
}

TEST(ModelMessages, StepsBecomeAssistantAndToolResultPairs) {
  UiMessageBuilder builder = sample_answer();
  json::array user_parts{json::object{{"type", "text"}, {"text", "compute pi"}},
                         json::object{{"type", "file"},
                                      {"mediaType", "text/csv"},
                                      {"filename", "d.csv"},
                                      {"url", "sandbox:///home/user/d.csv"}}};
  std::vector<json::object> stored{
      json::object{{"id", "u1"}, {"role", "user"}, {"parts", user_parts}},
      json::object{{"id", "m1"}, {"role", "assistant"}, {"parts", builder.parts()}}};
  auto messages = model_messages_from_ui(stored);
  ASSERT_EQ(messages.size(), 6u);
  auto& user = std::get<UserMessage>(messages[0]);
  EXPECT_NE(user.text.find("compute pi"), std::string::npos);
  EXPECT_NE(user.text.find("/home/user/d.csv (text/csv)"), std::string::npos);
  auto& first = std::get<AssistantMessage>(messages[1]);
  EXPECT_EQ(first.text, "Computing pi.");
  ASSERT_EQ(first.tool_calls.size(), 1u);
  EXPECT_EQ(first.tool_calls[0].id, "c1");
  auto& failed = std::get<ToolResultsMessage>(messages[2]);
  EXPECT_TRUE(failed.results[0].is_error);
  EXPECT_NE(failed.results[0].text.find("NameError: name 'np' is not defined"), std::string::npos);
  EXPECT_EQ(failed.results[0].text.find('\x1b'), std::string::npos) << "ANSI colours are stripped";
  auto& fixed = std::get<ToolResultsMessage>(messages[4]);
  EXPECT_FALSE(fixed.results[0].is_error);
  EXPECT_NE(fixed.results[0].text.find("3.14159"), std::string::npos);
  EXPECT_EQ(std::get<AssistantMessage>(messages[5]).text, "Pi is 3.14159.");
}

TEST(ModelMessages, AnInterruptedCallIsStillAnswered) {
  json::array parts{json::object{{"type", "step-start"}},
                    json::object{{"type", "tool-run_code"},
                                 {"toolCallId", "c9"},
                                 {"state", "input-available"},
                                 {"input", json::object{{"code", "while True: pass"}}}}};
  std::vector<json::object> stored{json::object{{"role", "assistant"}, {"parts", parts}}};
  auto messages = model_messages_from_ui(stored);
  ASSERT_EQ(messages.size(), 2u);
  auto& results = std::get<ToolResultsMessage>(messages[1]);
  EXPECT_TRUE(results.results[0].is_error);
  EXPECT_EQ(results.results[0].tool_call_id, "c9");
}

CompletionRequest conversation_with_image() {
  CompletionRequest request;
  request.model = "m";
  request.system = "be brief";
  request.messages.push_back(UserMessage{"plot"});
  request.messages.push_back(
      AssistantMessage{"ok", {ToolCall{"c1", "run_code", json::object{{"code", "x"}}}}});
  request.messages.push_back(ToolResultsMessage{{ToolResult{"c1", true, "error: E: e", {"iVBOR"}}}});
  request.messages.push_back(UserMessage{"again"});
  return request;
}

TEST(RequestBody, AnthropicAlternatesRolesAndReturnsToolResultsFirst) {
  ProviderSettings provider;
  provider.kind = ProviderKind::kAnthropic;
  json::object body = anthropic_body(provider, conversation_with_image());
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("max_tokens"), 8192);
  EXPECT_EQ(body.at("system"), "be brief");
  EXPECT_EQ(body.at("tool_choice").at("type"), "auto");
  const json::array& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u) << json::serialize(messages);
  EXPECT_EQ(messages[1].at("content").at(1).at("type"), "tool_use");
  EXPECT_EQ(messages[1].at("content").at(1).at("input").at("code"), "x");
  const json::array& merged = messages[2].at("content").as_array();
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].at("type"), "tool_result");
  EXPECT_EQ(merged[0].at("is_error"), true);
  EXPECT_EQ(merged[0].at("content").at(1).at("source").at("data"), "iVBOR");
  EXPECT_EQ(merged[1].at("text"), "again");
  EXPECT_EQ(body.at("tools").at(0).at("input_schema").at("required").at(0), "code");
}

TEST(RequestBody, OpenAiAnswersEveryCallAndShowsFiguresAsAUserMessage) {
  ProviderSettings provider;
  provider.kind = ProviderKind::kOpenAi;
  provider.max_tokens_field = "max_tokens";
  CompletionRequest request = conversation_with_image();
  request.allow_tools = false;
  json::object body = openai_body(provider, request);
  EXPECT_EQ(body.at("tool_choice"), "none");
  EXPECT_EQ(body.at("max_tokens"), 8192);
  EXPECT_FALSE(body.contains("max_completion_tokens"));
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  const json::array& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 6u) << json::serialize(messages);
  EXPECT_EQ(messages[0].at("role"), "system");
  EXPECT_EQ(messages[2].at("tool_calls").at(0).at("function").at("arguments"), "{\"code\":\"x\"}");
  EXPECT_EQ(messages[3].at("role"), "tool");
  EXPECT_EQ(messages[3].at("tool_call_id"), "c1");
  EXPECT_NE(messages[3].at("content").as_string().find("Error"), json::string::npos);
  EXPECT_EQ(messages[4].at("content").at(1).at("image_url").at("url"), "data:image/png;base64,iVBOR");
  EXPECT_EQ(messages[5].at("content"), "again");
}

TEST(ExecutionOutput, DescribesFiguresAndTrimsLongOutput) {
  ExecutionOutput output;
  output.apply_line(R"({"type":"stdout","text":")" + std::string(20000, 'x') + R"("})");
  output.apply_line(
      R"({"type":"result","png":"AAAA","chart":{"type":"line","title":"Sine","elements":[{},{}]},"is_main_result":false})");
  output.apply_line(R"({"type":"number_of_executions","execution_count":4})");
  EXPECT_FALSE(output.apply_line("not json"));
  EXPECT_EQ(output.json().at("executionCount"), 4);
  EXPECT_EQ(output.json().at("results").at(0).at("isMainResult"), false);
  ToolResult result = tool_result_from_output("c", output.json(), true);
  EXPECT_FALSE(result.is_error);
  EXPECT_LT(result.text.size(), 9000u);
  EXPECT_NE(result.text.find("bytes cut"), std::string::npos);
  EXPECT_NE(result.text.find("[chart shown to the user: line chart 'Sine', 2 elements]"), std::string::npos);
  ASSERT_EQ(result.png_base64.size(), 1u);
  EXPECT_TRUE(tool_result_from_output("c", output.json(), false).png_base64.empty());
}

TEST(ExecutionOutput, TrimMiddleKeepsUtf8Whole) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += "π";
  std::string trimmed = trim_middle(text, 51);
  EXPECT_EQ(trimmed.find("\xcf\n"), std::string::npos);
  EXPECT_EQ(strip_ansi("\x1b[1;31mred\x1b[0m plain"), "red plain");
}

TEST(FencedCode, FindsTheFirstClosedPythonBlock) {
  EXPECT_EQ(first_fenced_code("Let me see.\n```python\nx = 1\nprint(x)\n```\nDone."), "x = 1\nprint(x)\n");
  EXPECT_EQ(first_fenced_code("```\nprint(2)\n```"), "print(2)\n");
  EXPECT_EQ(first_fenced_code("```bash\nls\n```\n```py\nprint(3)\n```"), "print(3)\n");
  EXPECT_EQ(first_fenced_code("inline ```python not a block```"), std::nullopt);
  EXPECT_EQ(first_fenced_code("```python\nprint(4)\n"), std::nullopt)
      << "an unclosed block is still being written";
  EXPECT_EQ(first_fenced_code("no code here"), std::nullopt);
}

TEST(FencedCode, ToolCallsBecomeTextAndResultsBecomeUserMessages) {
  std::vector<ModelMessage> messages{
      UserMessage{"go"},
      AssistantMessage{"Running.", {ToolCall{"c1", "run_code", json::object{{"code", "print(1)"}}}}},
      ToolResultsMessage{{ToolResult{"c1", true, "error: E", {}}}},
  };
  auto plain = without_tool_calls(messages);
  ASSERT_EQ(plain.size(), 3u);
  const auto& assistant = std::get<AssistantMessage>(plain[1]);
  EXPECT_TRUE(assistant.tool_calls.empty());
  EXPECT_NE(assistant.text.find("```python\nprint(1)\n```"), std::string::npos);
  EXPECT_EQ(std::get<UserMessage>(plain[2]).text, "The code raised an error:\nerror: E");

  ProviderSettings provider;
  provider.native_tools = false;
  CompletionRequest request;
  request.system = "sys";
  request.messages = messages;
  json::object body = openai_body(provider, request);
  EXPECT_FALSE(body.contains("tools"));
  EXPECT_FALSE(body.contains("tool_choice"));
  EXPECT_NE(body.at("messages").at(0).at("content").as_string().find("fenced block"), json::string::npos);
  provider.kind = ProviderKind::kAnthropic;
  json::object anthropic = anthropic_body(provider, request);
  EXPECT_FALSE(anthropic.contains("tools"));
  EXPECT_EQ(anthropic.at("messages").as_array().size(), 3u);
}

}  // namespace
}  // namespace cellblock::chat
