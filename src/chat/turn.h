#pragma once
// One chat turn: the tool-calling loop of llm-and-ui-stream.md §4. Streams the model's answer, runs each
// run_code call in the conversation's kernel, feeds the results back until the model answers in text, and
// writes every step to the UI message stream.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "chat/code_runner.h"
#include "chat/model_messages.h"
#include "chat/provider_settings.h"
#include "http/proxy.h"

namespace cellblock::chat {

struct TurnLimits {
  int max_steps = 8;                 // model calls in one turn
  int max_consecutive_failures = 3;  // cells in a row that raised
  std::chrono::seconds budget{900};  // wall clock for the whole turn
  // Input + output tokens the provider reported over the turn's model calls (0: unbounded). Past it the
  // model gets one last step, without tools, to answer.
  std::int64_t max_tokens = 0;
};

struct TurnInput {
  ProviderSettings provider;
  std::string model;
  std::string system;
  std::vector<ModelMessage> messages;  // history, ending with the new user message
  std::string message_id;              // of the assistant message being written
  std::string ca_file;                 // extra trusted CA for the provider (tests)
};

// Receives each UI message stream chunk in order (the tokens the provider reported come last but one, as
// `message-metadata` {"usage": {"inputTokens", "outputTokens"}}) (the caller writes it to the browser and
// folds it into the stored message). When the browser goes away the caller fires the abort handle; the turn
// then ends quickly with `interrupted`, still sending its closing chunks.
using ChunkSink = std::function<boost::asio::awaitable<void>(const boost::json::object& chunk)>;

// The finish reason the turn ended with: stop | length | error | interrupted.
boost::asio::awaitable<std::string> run_turn(TurnInput input, CodeRunner& runner, const ChunkSink& sink,
                                             std::shared_ptr<AbortHandle> abort, TurnLimits limits = {});

// The system prompt of the data-analysis assistant.
const std::string& default_system_prompt();

}  // namespace cellblock::chat
