#pragma once
// Which LLM providers the server talks to, from the conventional environment variables
// (ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL, …) or a JSON file. Keys stay in
// the server: never sent to the browser or into a sandbox.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cellblock::chat {

enum class ProviderKind { kAnthropic, kOpenAi };

struct ProviderSettings {
  std::string id;    // "anthropic", "openai", or a name from the config file; the model picker's prefix
  std::string name;  // shown in the picker
  ProviderKind kind = ProviderKind::kOpenAi;
  // Anthropic: the API root (requests go to {base}/v1/messages). OpenAI: including the version, as the
  // OpenAI SDKs take it (requests go to {base}/chat/completions), e.g. http://localhost:11434/v1.
  std::string base_url;
  std::string api_key;
  std::vector<std::string> models;  // offered when the server cannot list them; the first is the default
  // The models were named by the operator (ANTHROPIC_MODEL, OPENAI_MODEL, the config file): they stay first.
  // Otherwise `models` holds a guess that the provider's own list replaces.
  bool models_named = false;
  int max_tokens = 8192;
  // Tokens (input + output) one turn may spend over all its model calls before it must answer (0: no bound).
  std::int64_t max_turn_tokens = 400'000;
  // OpenAI-compatible quirks (llm-and-ui-stream.md §3).
  std::string max_tokens_field = "max_completion_tokens";
  bool stream_options = true;
  bool parallel_tool_calls_field = true;
  bool images = true;  // whether the model is shown produced PNGs
  // False for models that cannot call tools: they write a fenced code block instead (fenced_code.h).
  bool native_tools = true;
  std::string anthropic_version = "2023-06-01";
};

using GetEnv = std::function<std::optional<std::string>(std::string_view)>;

// Anthropic when ANTHROPIC_API_KEY is set; OpenAI when OPENAI_API_KEY or OPENAI_BASE_URL is set (local
// servers need no key). ANTHROPIC_MODEL / OPENAI_MODEL (comma-separated) choose the offered models. A base
// URL that is not pointing at OpenAI itself uses the widely supported `max_tokens`.
std::vector<ProviderSettings> providers_from_env(const GetEnv& env);

// Reads a JSON file {"providers": [{"id","name","kind":"anthropic"|"openai","baseUrl","apiKey"|"apiKeyEnv",
// "models":[…],"maxTokens","maxTurnTokens","maxTokensField","streamOptions","parallelToolCalls","images",
// "tools"}]}; an error
// names the file and the field.
Result<std::vector<ProviderSettings>> providers_from_file(const std::string& path, const GetEnv& env);

// The process environment.
std::optional<std::string> process_env(std::string_view name);

}  // namespace cellblock::chat
