#include "chat/turn.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "chat/execution_output.h"
#include "chat/fenced_code.h"
#include "chat/provider_client.h"
#include "chat/ui_message.h"
#include "chat/ui_message_stream.h"

namespace cellblock::chat {

namespace json = boost::json;

namespace {

// In-band errors that a second attempt of the same step may not hit.
bool transient_stream_error(std::string_view code) {
  return code == "overloaded_error" || code == "api_error" || code == kIncompleteStream;
}

// What one provider round trip produced.
struct StepResult {
  AssistantMessage message;
  std::vector<ToolResult> invalid_calls;  // calls whose arguments were not valid JSON: answered as errors
  std::optional<Finish> finish;
  std::optional<StreamError> error;
  bool streamed_anything = false;
};

class Turn {
 public:
  Turn(TurnInput input, CodeRunner& runner, const ChunkSink& sink, std::shared_ptr<AbortHandle> abort,
       TurnLimits limits)
      : input_(std::move(input)), runner_(runner), sink_(sink), abort_(std::move(abort)), limits_(limits) {}

  asio::awaitable<std::string> run();

 private:
  bool canceled() const { return abort_ && abort_->aborted(); }
  asio::awaitable<void> emit(json::object chunk) { co_await sink_(chunk); }
  asio::awaitable<Result<StepResult>> stream_step(bool allow_tools);
  asio::awaitable<void> on_event(ProviderEvent& event, StepResult& step);
  asio::awaitable<void> close_text();
  asio::awaitable<ToolResult> execute(const ToolCall& call);
  asio::awaitable<std::string> finish(std::string reason);
  void count_usage(const StepResult& step);
  bool over_token_budget() const {
    return limits_.max_tokens > 0 && input_tokens_ + output_tokens_ >= limits_.max_tokens;
  }
  asio::awaitable<void> adopt_fenced_code(AssistantMessage& message, int step_number);

  TurnInput input_;
  CodeRunner& runner_;
  const ChunkSink& sink_;
  std::shared_ptr<AbortHandle> abort_;
  TurnLimits limits_;
  int text_parts_ = 0;
  std::string open_text_;  // id of the text part being written, empty when none
  std::int64_t input_tokens_ = 0;
  std::int64_t output_tokens_ = 0;
  bool usage_reported_ = false;
};

asio::awaitable<void> Turn::close_text() {
  if (open_text_.empty()) co_return;
  json::object chunk = ui::text_end(open_text_);
  open_text_.clear();
  co_await emit(std::move(chunk));
}

asio::awaitable<void> Turn::on_event(ProviderEvent& event, StepResult& step) {
  if (auto* text = std::get_if<TextDelta>(&event)) {
    if (text->text.empty()) co_return;
    if (open_text_.empty()) {
      open_text_ = fmt::format("{}-{}", input_.message_id, text_parts_++);
      co_await emit(ui::text_start(open_text_));
    }
    step.message.text += text->text;
    step.streamed_anything = true;
    co_await emit(ui::text_delta(open_text_, text->text));
  } else if (auto* start = std::get_if<ToolCallStart>(&event)) {
    co_await close_text();
    step.streamed_anything = true;
    co_await emit(ui::tool_input_start(start->id, start->name));
  } else if (auto* delta = std::get_if<ToolCallInputDelta>(&event)) {
    if (!delta->json_fragment.empty()) co_await emit(ui::tool_input_delta(delta->id, delta->json_fragment));
  } else if (auto* end = std::get_if<ToolCallEnd>(&event)) {
    co_await emit(ui::tool_input_available(end->id, end->name, end->input));
    step.message.tool_calls.push_back(ToolCall{end->id, end->name, std::move(end->input)});
  } else if (auto* finish = std::get_if<Finish>(&event)) {
    step.finish = *finish;
  } else if (auto* error = std::get_if<StreamError>(&event)) {
    if (error->code == kInvalidToolInput) {
      // The model sent arguments that are not JSON: tell it, so it can call again.
      json::value raw(error->raw_input);
      co_await emit(ui::tool_input_error(error->tool_call_id, error->tool_name, raw, error->message));
      step.message.tool_calls.push_back(ToolCall{error->tool_call_id, error->tool_name, {}});
      step.invalid_calls.push_back(ToolResult{error->tool_call_id, true, error->message, {}});
    } else {
      step.error = *error;
    }
  }
}

asio::awaitable<Result<StepResult>> Turn::stream_step(bool allow_tools) {
  CompletionRequest request;
  request.model = input_.model;
  request.system = input_.system;
  request.messages = input_.messages;
  request.allow_tools = allow_tools;
  CallOptions options;
  options.abort = abort_;
  options.ca_file = input_.ca_file;
  auto stream = co_await open_completion(input_.provider, request, options);
  if (!stream) co_return tl::unexpected(stream.error());
  StepResult step;
  while (!(*stream)->done() && !canceled()) {
    std::vector<ProviderEvent> events = co_await (*stream)->next();
    for (ProviderEvent& event : events) co_await on_event(event, step);
    if (step.error) break;
  }
  co_await close_text();
  co_return step;
}

asio::awaitable<ToolResult> Turn::execute(const ToolCall& call) {
  RunRequest request;
  if (const json::value* code = call.input.if_contains("code"); code && code->is_string()) {
    request.code = code->get_string();
  }
  if (const json::value* language = call.input.if_contains("language"); language && language->is_string()) {
    request.language = language->get_string();
  }
  if (request.code.empty()) {
    std::string message = "run_code needs a non-empty `code` argument";
    co_await emit(ui::tool_output_error(call.id, message));
    co_return ToolResult{call.id, true, message, {}};
  }
  const std::string id = call.id;
  ProgressCallback progress = [this, id](const json::object& output) -> asio::awaitable<void> {
    co_await emit(ui::tool_output_available(id, output, true));
  };
  auto output = co_await runner_.run(std::move(request), progress, abort_);
  if (!output) {
    std::string message = output.error().code == ErrorCode::kCanceled
                              ? std::string("stopped by the user")
                              : "the code could not run: " + output.error().message;
    co_await emit(ui::tool_output_error(call.id, message));
    co_return ToolResult{call.id, true, message, {}};
  }
  co_await emit(ui::tool_output_available(call.id, *output));
  co_return tool_result_from_output(call.id, *output, input_.provider.images);
}

// Without native tools the model's fenced block is its run_code call.
asio::awaitable<void> Turn::adopt_fenced_code(AssistantMessage& message, int step_number) {
  auto code = first_fenced_code(message.text);
  if (!code) co_return;
  ToolCall call{fmt::format("{}-code-{}", input_.message_id, step_number), std::string(kRunCodeTool),
                boost::json::object{{"code", *code}, {"language", "python"}}};
  co_await emit(ui::tool_input_available(call.id, call.name, call.input));
  message.tool_calls.push_back(std::move(call));
}

void Turn::count_usage(const StepResult& step) {
  if (!step.finish) return;
  const Usage& usage = step.finish->usage;
  if (usage.input_tokens) input_tokens_ += *usage.input_tokens;
  if (usage.output_tokens) output_tokens_ += *usage.output_tokens;
  usage_reported_ = usage_reported_ || usage.input_tokens || usage.output_tokens;
}

asio::awaitable<std::string> Turn::finish(std::string reason) {
  if (usage_reported_) {
    json::object usage{{"inputTokens", input_tokens_}, {"outputTokens", output_tokens_}};
    json::object metadata{{"usage", std::move(usage)}};
    co_await emit(ui::message_metadata(metadata));
  }
  co_await emit(ui::finish(reason));
  co_return reason;
}

asio::awaitable<std::string> Turn::run() {
  const auto deadline = std::chrono::steady_clock::now() + limits_.budget;
  co_await emit(ui::start(input_.message_id));
  int failures = 0;
  bool tools_allowed = true;
  for (int step_number = 1; step_number <= limits_.max_steps; ++step_number) {
    // On the last allowed step the model must answer in text instead of planning another cell.
    bool last_step = step_number == limits_.max_steps || std::chrono::steady_clock::now() >= deadline;
    bool allow_tools = tools_allowed && !last_step;
    co_await emit(ui::start_step());
    auto step = co_await stream_step(allow_tools);
    if (!step && input_.provider.native_tools && refuses_tools(step.error()) && !canceled()) {
      // A local model without tool calling: from here on it writes its code as a fenced block instead.
      spdlog::info("{} model {} cannot call tools ({}); using fenced code blocks", input_.provider.name,
                   input_.model, step.error().message);
      input_.provider.native_tools = false;
      step = co_await stream_step(allow_tools);
    }
    if (step && step->error && transient_stream_error(step->error->code) && !canceled()) {
      // One more try for an overloaded provider; the browser drops what this step showed so far.
      co_await emit(ui::reset_step());
      co_await emit(ui::start_step());
      step = co_await stream_step(allow_tools);
    }
    if (canceled()) {
      co_await emit(ui::finish_step());
      co_return co_await finish("interrupted");
    }
    if (!step || step->error) {
      std::string message =
          step ? fmt::format("{}: {}", input_.provider.name, step->error->message) : step.error().message;
      co_await emit(ui::error(message));
      co_await emit(ui::finish_step());
      co_return co_await finish("error");
    }
    count_usage(*step);
    if (!input_.provider.native_tools && allow_tools) co_await adopt_fenced_code(step->message, step_number);
    std::vector<ToolCall> calls = step->message.tool_calls;
    if (!step->message.text.empty() || !calls.empty()) input_.messages.push_back(step->message);
    if (calls.empty()) {
      co_await emit(ui::finish_step());
      bool length = step->finish && step->finish->reason == FinishReason::kLength;
      co_return co_await finish(length ? "length" : "stop");
    }
    ToolResultsMessage results;
    for (const ToolCall& call : calls) {
      auto invalid =
          std::find_if(step->invalid_calls.begin(), step->invalid_calls.end(),
                       [&call](const ToolResult& result) { return result.tool_call_id == call.id; });
      if (invalid != step->invalid_calls.end()) {
        results.results.push_back(*invalid);
        ++failures;
        continue;
      }
      if (canceled()) {
        results.results.push_back(ToolResult{call.id, true, "stopped by the user", {}});
        continue;
      }
      ToolResult result = co_await execute(call);
      failures = result.is_error ? failures + 1 : 0;
      results.results.push_back(std::move(result));
    }
    input_.messages.push_back(std::move(results));
    co_await emit(ui::finish_step());
    if (canceled()) co_return co_await finish("interrupted");
    // After too many failing cells, or past the token budget, the model gets one last step without tools.
    if (failures >= limits_.max_consecutive_failures || over_token_budget()) tools_allowed = false;
  }
  co_return co_await finish("stop");
}

}  // namespace

asio::awaitable<std::string> run_turn(TurnInput input, CodeRunner& runner, const ChunkSink& sink,
                                      std::shared_ptr<AbortHandle> abort, TurnLimits limits) {
  Turn turn(std::move(input), runner, sink, std::move(abort), limits);
  co_return co_await turn.run();
}

const std::string& default_system_prompt() {
  static const std::string prompt =
      "You are a data analysis assistant with a Python Jupyter kernel in the user's own sandbox. Use the "
      "run_code tool to compute answers, analyse data and draw figures instead of guessing. The kernel keeps "
      "variables, imports and files between calls, so build on earlier cells. numpy, pandas, matplotlib, "
      "seaborn, scipy and scikit-learn are installed; there is no network access for installing packages. "
      "Show figures with matplotlib (plt.show()) and leave a DataFrame as the last expression to show it as "
      "a "
      "table. Files the user uploads are in /home/user; save files you produce there so the user can "
      "download them. When a cell raises, read the traceback and fix the code. Keep answers short: explain "
      "the result after the code ran, using the numbers it printed.";
  return prompt;
}

}  // namespace cellblock::chat
