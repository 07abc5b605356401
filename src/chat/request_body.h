#pragma once
// Builds the streaming request bodies of the Anthropic Messages API and the OpenAI Chat Completions API
// (llm-and-ui-stream.md §1.1, §1.4, §2.1, §2.3) from a provider-neutral conversation.

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "chat/model_messages.h"
#include "chat/provider_settings.h"

namespace cellblock::chat {

struct CompletionRequest {
  std::string model;
  std::string system;
  std::vector<ModelMessage> messages;
  bool allow_tools = true;  // false on the last allowed step: the model must answer in text
};

// The run_code tool's JSON schema (language, title, description, code).
const boost::json::object& run_code_schema();
const std::string& run_code_description();

boost::json::object anthropic_body(const ProviderSettings& provider, const CompletionRequest& request);
boost::json::object openai_body(const ProviderSettings& provider, const CompletionRequest& request);

}  // namespace cellblock::chat
