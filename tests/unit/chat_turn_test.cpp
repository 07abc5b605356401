// The tool-calling loop against the fake provider server (tests/chat/fake_llm.mjs), which speaks the
// Anthropic and OpenAI streaming wire formats byte for byte. Code runs in a scripted runner: the loop's
// contract with the sandbox is the CodeRunner interface (the real sandbox is covered by the browser tests).

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include "chat/execution_output.h"
#include "chat/provider_client.h"
#include "chat/turn.h"
#include "chat/ui_message.h"
#include "http/client.h"

namespace cellblock::chat {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;

// Starts `node tests/chat/fake_llm.mjs` and reads its URL from the first line it prints.
class FakeLlm {
 public:
  FakeLlm() {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      std::string script = std::string(CELLBLOCK_SOURCE_DIR) + "/tests/chat/fake_llm.mjs";
      execlp("node", "node", script.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    std::string line;
    char c = 0;
    while (read(out[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    close(out[0]);
    auto at = line.find("http://");
    if (at != std::string::npos) url_ = line.substr(at);
  }
  ~FakeLlm() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

// Runs cells the way a kernel would answer them: code using np without importing numpy raises a NameError,
// `raise` raises, code with time.sleep runs until stopped, anything else prints a line.
class ScriptedRunner : public CodeRunner {
 public:
  std::vector<std::string> codes;

  asio::awaitable<Result<json::object>> run(RunRequest request, ProgressCallback progress,
                                            std::shared_ptr<AbortHandle> abort) override {
    codes.push_back(request.code);
    ExecutionOutput output;
    const std::string& code = request.code;
    if (code.find("time.sleep") != std::string::npos) {
      output.apply_line(R"({"type":"stdout","text":"0\n"})");
      co_await progress(output.json());
      asio::steady_timer timer(co_await asio::this_coro::executor);
      while (!abort->aborted()) {
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      output.set_error("KeyboardInterrupt", "stopped by the user");
      co_return output.json();
    }
    bool undefined_np =
        code.find("np.") != std::string::npos && code.find("import numpy") == std::string::npos;
    if (code.find("6 * 7") != std::string::npos) {
      output.apply_line(R"({"type":"stdout","text":"42\n"})");
    } else if (undefined_np || code.find("raise ") != std::string::npos) {
      output.apply_line(
          R"({"type":"error","name":"NameError","value":"name 'np' is not defined","traceback":"Traceback"})");
    } else {
      output.apply_line(R"({"type":"stdout","text":"pi ≈ 3.1416\n"})");
      co_await progress(output.json());
    }
    output.apply_line(R"({"type":"end_of_execution"})");
    co_return output.json();
  }
};

struct TurnRun {
  std::vector<json::object> chunks;
  std::string finish;

  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& chunk : chunks) out.emplace_back(chunk.at("type").as_string());
    return out;
  }
  int count(std::string_view type) const {
    int n = 0;
    for (const auto& chunk : chunks) n += chunk.at("type").as_string() == type;
    return n;
  }
  std::string text() const {
    std::string out;
    for (const auto& chunk : chunks) {
      if (chunk.at("type").as_string() == "text-delta") out += chunk.at("delta").as_string();
    }
    return out;
  }
  const json::object* first(std::string_view type) const {
    for (const auto& chunk : chunks) {
      if (chunk.at("type").as_string() == type) return &chunk;
    }
    return nullptr;
  }
};

ProviderSettings provider_of(ProviderKind kind, const std::string& url, std::string key = "test-key") {
  ProviderSettings provider;
  provider.kind = kind;
  provider.id = kind == ProviderKind::kAnthropic ? "anthropic" : "openai";
  provider.name = kind == ProviderKind::kAnthropic ? "Anthropic" : "OpenAI-compatible";
  provider.base_url = kind == ProviderKind::kAnthropic ? url : url + "/openai/v1";
  provider.api_key = std::move(key);
  provider.max_tokens_field = "max_tokens";
  return provider;
}

using StopWhen = std::function<bool(const json::object& chunk)>;

// Runs one turn; the abort handle fires (the user pressed stop) at the first chunk `stop_when` accepts.
TurnRun run(ProviderSettings provider, std::string prompt, ScriptedRunner& runner, TurnLimits limits = {},
            StopWhen stop_when = {}, std::string model = "fake-model") {
  asio::io_context io;
  TurnRun result;
  auto abort = std::make_shared<AbortHandle>();
  TurnInput input;
  input.provider = std::move(provider);
  input.model = std::move(model);
  input.system = default_system_prompt();
  input.messages.emplace_back(std::in_place_type<UserMessage>, std::move(prompt));
  input.message_id = "m1";
  ChunkSink sink = [&](const json::object& chunk) -> asio::awaitable<void> {
    result.chunks.push_back(chunk);
    if (stop_when && stop_when(chunk)) abort->abort();
    co_return;
  };
  auto done = asio::co_spawn(io, run_turn(std::move(input), runner, sink, abort, limits), asio::use_future);
  io.run();
  result.finish = done.get();
  return result;
}

json::array recorded_requests(const std::string& url) {
  asio::io_context io;
  http::ClientRequest request;
  request.url = url + "/__requests";
  auto body = asio::co_spawn(
      io,
      [&]() -> asio::awaitable<std::string> {
        auto response = co_await http::fetch(request);
        if (!response) co_return "[]";
        auto text = co_await (*response)->read_all(64 << 20);
        co_return text ? *text : "[]";
      },
      asio::use_future);
  io.run();
  return json::parse(body.get()).as_array();
}

// The tool_choice of the latest request the fake provider received, as JSON text.
std::string last_tool_choice(const std::string& url) {
  json::array requests = recorded_requests(url);
  if (requests.empty()) return "";
  return json::serialize(requests.back().at("body").at("tool_choice"));
}

class TurnTest : public ::testing::TestWithParam<ProviderKind> {
 protected:
  static void SetUpTestSuite() { fake_ = new FakeLlm(); }
  static void TearDownTestSuite() { delete fake_; }
  void SetUp() override { ASSERT_FALSE(fake_->url().empty()) << "the fake provider did not start (node?)"; }
  ProviderSettings provider() const { return provider_of(GetParam(), fake_->url()); }

  static FakeLlm* fake_;
};
FakeLlm* TurnTest::fake_ = nullptr;

TEST_P(TurnTest, FixesAFailingCellAndSummarises) {
  ScriptedRunner runner;
  TurnRun turn = run(provider(), "calculate pi with Monte Carlo and plot it", runner);
  EXPECT_EQ(turn.finish, "stop") << turn.text();
  ASSERT_EQ(runner.codes.size(), 2u);
  EXPECT_EQ(turn.count("start-step"), 3);
  EXPECT_EQ(turn.count("finish-step"), 3);
  EXPECT_EQ(turn.count("tool-input-start"), 2);
  EXPECT_GE(turn.count("tool-input-delta"), 2) << "the code streams in pieces";
  EXPECT_EQ(turn.count("tool-input-available"), 2);
  EXPECT_EQ(turn.types().front(), "start");
  EXPECT_EQ(turn.types().back(), "finish");
  // The first cell's error went back to the model, which then fixed the code.
  const json::object* first_output = turn.first("tool-output-available");
  ASSERT_NE(first_output, nullptr);
  EXPECT_TRUE(first_output->at("output").at("error").is_object());
  EXPECT_NE(runner.codes[1].find("import numpy"), std::string::npos);
  EXPECT_NE(turn.text().find("pi"), std::string::npos);
  // The tool input assembled from the fragments is exactly what ran.
  EXPECT_EQ(turn.first("tool-input-available")->at("input").at("code").as_string(), runner.codes[0]);
}

TEST_P(TurnTest, ToolResultsAreSentBackInTheProviderShape) {
  ScriptedRunner runner;
  run(provider(), "pi please", runner);
  json::array requests = recorded_requests(fake_->url());
  // The last request holds the whole loop: the failing call answered as an error, then the fixed one.
  const json::object* last = nullptr;
  for (const auto& request : requests) {
    if (request.at("method") == "POST") last = &request.as_object();
  }
  ASSERT_NE(last, nullptr);
  std::string body = json::serialize(last->at("body"));
  if (GetParam() == ProviderKind::kAnthropic) {
    EXPECT_NE(body.find("\"type\":\"tool_result\""), std::string::npos);
    EXPECT_NE(body.find("\"is_error\":true"), std::string::npos);
    EXPECT_EQ(last->at("headers").at("x-api-key"), "test-key");
  } else {
    EXPECT_NE(body.find("\"role\":\"tool\""), std::string::npos);
    EXPECT_NE(body.find("NameError"), std::string::npos);
    EXPECT_EQ(last->at("headers").at("authorization"), "Bearer test-key");
  }
}

TEST_P(TurnTest, ABadKeyIsReportedWithTheProvidersWords) {
  ScriptedRunner runner;
  TurnRun turn = run(provider_of(GetParam(), fake_->url(), "bad-key"), "hello", runner);
  EXPECT_EQ(turn.finish, "error");
  const json::object* error = turn.first("error");
  ASSERT_NE(error, nullptr);
  EXPECT_NE(error->at("errorText").as_string().find("401"), json::string::npos) << error->at("errorText");
  EXPECT_TRUE(runner.codes.empty());
}

TEST_P(TurnTest, AnErrorMidStreamEndsTheTurnClearly) {
  ScriptedRunner runner;
  TurnRun turn = run(provider(), "simulate overload", runner);
  EXPECT_EQ(turn.finish, "error");
  EXPECT_EQ(turn.count("reset-step"), 1) << "one retry, and the browser drops the partial step";
  ASSERT_NE(turn.first("error"), nullptr);
  EXPECT_EQ(turn.types().back(), "finish");
}

TEST_P(TurnTest, RateLimitIsRetriedBeforeAnythingStreams) {
  ScriptedRunner runner;
  TurnRun turn = run(provider(), "rate limit test", runner);
  EXPECT_EQ(turn.finish, "stop") << (turn.first("error") ? json::serialize(*turn.first("error")) : "");
  EXPECT_EQ(turn.count("reset-step"), 0);
  EXPECT_FALSE(turn.text().empty());
}

TEST_P(TurnTest, StopInterruptsTheRunningCell) {
  ScriptedRunner runner;
  // Stop once the cell has printed its first line (a preliminary output).
  auto first_output = [](const json::object& chunk) {
    return chunk.at("type") == "tool-output-available" && chunk.contains("preliminary");
  };
  TurnRun turn = run(provider(), "run a long sleep loop", runner, {}, first_output);
  EXPECT_EQ(turn.finish, "interrupted");
  ASSERT_EQ(runner.codes.size(), 1u);
  // The final output keeps what the cell printed and says it was stopped; no further model call was made.
  const json::object* final_output = nullptr;
  for (const auto& chunk : turn.chunks) {
    if (chunk.at("type") == "tool-output-available" && !chunk.contains("preliminary")) final_output = &chunk;
  }
  ASSERT_NE(final_output, nullptr);
  EXPECT_EQ(final_output->at("output").at("error").at("name"), "KeyboardInterrupt");
  EXPECT_EQ(final_output->at("output").at("stdout"), "0\n");
  EXPECT_EQ(turn.count("start-step"), 1);
}

TEST_P(TurnTest, StopWhileTheModelStreamsEndsAtOnce) {
  ScriptedRunner runner;
  auto first_text = [](const json::object& chunk) { return chunk.at("type") == "text-delta"; };
  TurnRun turn = run(provider(), "calculate pi", runner, {}, first_text);
  EXPECT_EQ(turn.finish, "interrupted");
  EXPECT_TRUE(runner.codes.empty());
}

TEST_P(TurnTest, LastStepForbidsTools) {
  ScriptedRunner runner;
  TurnLimits limits;
  limits.max_steps = 2;
  TurnRun turn = run(provider(), "pi again", runner, limits);
  EXPECT_EQ(turn.finish, "stop");
  EXPECT_EQ(runner.codes.size(), 1u) << "the second step may not call tools";
  std::string choice = last_tool_choice(fake_->url());
  EXPECT_NE(choice.find("none"), std::string::npos) << choice;
}

TEST_P(TurnTest, TheTokensSpentAreReportedAndBoundTheTurn) {
  ScriptedRunner runner;
  TurnRun full = run(provider(), "pi with usage", runner);
  EXPECT_EQ(full.finish, "stop");
  EXPECT_EQ(runner.codes.size(), 2u);
  // The provider's usage, summed over the three model calls, comes just before the finish.
  ASSERT_GE(full.chunks.size(), 2u);
  const json::object& metadata = full.chunks[full.chunks.size() - 2];
  ASSERT_EQ(metadata.at("type"), "message-metadata");
  const json::object& usage = metadata.at("messageMetadata").at("usage").as_object();
  const std::int64_t spent = usage.at("inputTokens").as_int64() + usage.at("outputTokens").as_int64();
  EXPECT_GT(usage.at("inputTokens").as_int64(), 0);
  EXPECT_GT(usage.at("outputTokens").as_int64(), 0);

  // A budget the first call already spends: the second call may only answer in text.
  ScriptedRunner bounded_runner;
  TurnLimits limits;
  limits.max_tokens = 1;
  TurnRun bounded = run(provider(), "pi on a budget", bounded_runner, limits);
  EXPECT_EQ(bounded.finish, "stop");
  EXPECT_EQ(bounded_runner.codes.size(), 1u) << "no cell after the budget was spent";
  EXPECT_EQ(bounded.count("start-step"), 2);
  std::string choice = last_tool_choice(fake_->url());
  EXPECT_NE(choice.find("none"), std::string::npos) << choice;
  const json::object* bounded_metadata = bounded.first("message-metadata");
  ASSERT_NE(bounded_metadata, nullptr);
  const json::object& bounded_usage = bounded_metadata->at("messageMetadata").at("usage").as_object();
  EXPECT_LT(bounded_usage.at("inputTokens").as_int64() + bounded_usage.at("outputTokens").as_int64(), spent)
      << "two calls spend less than three";
}

TEST_P(TurnTest, AModelWithoutToolsRunsItsFencedBlock) {
  ScriptedRunner runner;
  ProviderSettings plain = provider();
  plain.native_tools = false;
  TurnRun turn = run(plain, "answer with a fenced block", runner);
  EXPECT_EQ(turn.finish, "stop");
  ASSERT_EQ(runner.codes.size(), 1u);
  EXPECT_EQ(runner.codes[0], "print(6 * 7)\n");
  EXPECT_EQ(turn.count("tool-input-available"), 1) << "the block shows as a cell";
  EXPECT_NE(turn.text().find("The answer is 42."), std::string::npos) << turn.text();
  // Neither request offered tools; the output went back as a user message.
  json::array requests = recorded_requests(fake_->url());
  const json::object& last = requests.back().as_object();
  EXPECT_FALSE(last.at("body").as_object().contains("tools"));
  EXPECT_NE(json::serialize(last.at("body")).find("Output of the code:"), std::string::npos);
}

TEST(TurnFallback, AModelThatRefusesToolsWritesFencedBlocksInstead) {
  FakeLlm fake;
  ASSERT_FALSE(fake.url().empty());
  ScriptedRunner runner;
  // Ollama's 400 for a model without tool support; the turn goes on without tools, as with "tools": false.
  ProviderSettings local = provider_of(ProviderKind::kOpenAi, fake.url());
  TurnRun turn = run(local, "answer with a fenced block", runner, {}, {}, "llama-no-tools");
  EXPECT_EQ(turn.finish, "stop") << turn.text();
  ASSERT_EQ(runner.codes.size(), 1u);
  EXPECT_EQ(runner.codes[0], "print(6 * 7)\n");
  EXPECT_NE(turn.text().find("The answer is 42."), std::string::npos) << turn.text();
  json::array requests = recorded_requests(fake.url());
  ASSERT_GE(requests.size(), 3u);
  EXPECT_TRUE(requests[0].at("body").as_object().contains("tools")) << "the first request offered tools";
  EXPECT_FALSE(requests.back().at("body").as_object().contains("tools"));

  // llama-server without --jinja refuses with a 500: not retried, the same fallback.
  ScriptedRunner second_runner;
  TurnRun second = run(local, "answer with a fenced block", second_runner, {}, {}, "qwen-no-jinja");
  EXPECT_EQ(second.finish, "stop") << second.text();
  EXPECT_EQ(second_runner.codes.size(), 1u);
  json::array all = recorded_requests(fake.url());
  int offered_tools = 0;
  for (std::size_t i = requests.size(); i < all.size(); ++i) {
    offered_tools += all[i].at("body").as_object().contains("tools") ? 1 : 0;
  }
  EXPECT_EQ(offered_tools, 1) << "the refusal is not retried";
}

TEST(ProviderErrors, RefusalsOfToolsAreRecognised) {
  ProviderSettings local;
  local.name = "Local";
  EXPECT_TRUE(refuses_tools(provider_http_error(
      local, 400, R"({"error":"registry.ollama.ai/library/gemma:2b does not support tools"})")));
  EXPECT_TRUE(refuses_tools(provider_http_error(
      local, 500,
      R"({"error":{"code":500,"message":"tools param requires --jinja flag","type":"server_error"}})")));
  EXPECT_TRUE(refuses_tools(provider_http_error(
      local, 400,
      R"({"object":"error","message":"\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set","type":"BadRequestError"})")));
  EXPECT_FALSE(
      refuses_tools(provider_http_error(local, 400, R"({"error":{"message":"max_tokens is too large"}})")));
  EXPECT_FALSE(refuses_tools(provider_http_error(local, 401, R"({"error":"does not support tools"})")));
}

INSTANTIATE_TEST_SUITE_P(Providers, TurnTest,
                         ::testing::Values(ProviderKind::kAnthropic, ProviderKind::kOpenAi),
                         [](const auto& info) {
                           return info.param == ProviderKind::kAnthropic ? "Anthropic" : "OpenAi";
                         });

}  // namespace
}  // namespace cellblock::chat
