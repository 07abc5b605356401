#include "chat/provider_settings.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "chat/stream_json.h"

namespace cellblock::chat {

namespace json = boost::json;

namespace {

constexpr std::string_view kAnthropicDefaultBase = "https://api.anthropic.com";
constexpr std::string_view kOpenAiDefaultBase = "https://api.openai.com/v1";
constexpr std::string_view kAnthropicDefaultModel = "claude-sonnet-4-5";
constexpr std::string_view kOpenAiDefaultModel = "gpt-4.1";

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

std::string without_trailing_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string env_or(const GetEnv& env, std::string_view name, std::string_view fallback) {
  auto value = env(name);
  return value && !value->empty() ? *value : std::string(fallback);
}

// OpenAI itself wants max_completion_tokens; most compatible servers only know max_tokens.
void apply_openai_defaults(ProviderSettings& provider) {
  bool is_openai = provider.base_url.find("api.openai.com") != std::string::npos;
  provider.max_tokens_field = is_openai ? "max_completion_tokens" : "max_tokens";
}

}  // namespace

std::optional<std::string> process_env(std::string_view name) {
  const char* value = std::getenv(std::string(name).c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::vector<ProviderSettings> providers_from_env(const GetEnv& env) {
  std::vector<ProviderSettings> providers;
  if (auto key = env("ANTHROPIC_API_KEY"); key && !key->empty()) {
    ProviderSettings anthropic;
    anthropic.id = "anthropic";
    anthropic.name = "Anthropic";
    anthropic.kind = ProviderKind::kAnthropic;
    anthropic.base_url = without_trailing_slash(env_or(env, "ANTHROPIC_BASE_URL", kAnthropicDefaultBase));
    anthropic.api_key = *key;
    anthropic.models = split_list(env_or(env, "ANTHROPIC_MODEL", kAnthropicDefaultModel));
    anthropic.models_named = env("ANTHROPIC_MODEL").has_value();
    providers.push_back(std::move(anthropic));
  }
  auto openai_key = env("OPENAI_API_KEY");
  auto openai_base = env("OPENAI_BASE_URL");
  bool has_key = openai_key && !openai_key->empty();
  bool has_base = openai_base && !openai_base->empty();
  if (has_key || has_base) {
    ProviderSettings openai;
    openai.id = "openai";
    openai.name = has_base ? "OpenAI-compatible" : "OpenAI";
    openai.kind = ProviderKind::kOpenAi;
    openai.base_url = without_trailing_slash(has_base ? *openai_base : std::string(kOpenAiDefaultBase));
    openai.api_key = has_key ? *openai_key : std::string();
    openai.models = split_list(env_or(env, "OPENAI_MODEL", has_base ? "" : kOpenAiDefaultModel));
    openai.models_named = env("OPENAI_MODEL").has_value();
    apply_openai_defaults(openai);
    providers.push_back(std::move(openai));
  }
  return providers;
}

Result<std::vector<ProviderSettings>> providers_from_file(const std::string& path, const GetEnv& env) {
  std::ifstream file(path);
  if (!file) return fail(ErrorCode::kNotFound, "cannot read the chat configuration " + path);
  std::stringstream text;
  text << file.rdbuf();
  boost::system::error_code ec;
  json::value root = json::parse(text.str(), ec);
  auto bad = [&path](const std::string& what) {
    return fail(ErrorCode::kInvalidArgument, path + ": " + what);
  };
  if (ec) return bad("invalid JSON (" + ec.message() + ")");
  const json::array* list = root.is_object() ? array_field(root.as_object(), "providers") : nullptr;
  if (list == nullptr) return bad("expected {\"providers\": [...]}");
  std::vector<ProviderSettings> providers;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json::object* entry = (*list)[i].if_object();
    std::string where = "providers[" + std::to_string(i) + "]";
    if (entry == nullptr) return bad(where + " is not an object");
    ProviderSettings provider;
    provider.id = string_field(*entry, "id");
    std::string_view kind = string_field(*entry, "kind");
    if (provider.id.empty() || provider.id.find('/') != std::string::npos) {
      return bad(where + ".id must be a non-empty name without '/'");
    }
    if (kind != "anthropic" && kind != "openai")
      return bad(where + ".kind must be \"anthropic\" or \"openai\"");
    provider.kind = kind == "anthropic" ? ProviderKind::kAnthropic : ProviderKind::kOpenAi;
    provider.name = string_field(*entry, "name");
    if (provider.name.empty()) provider.name = provider.id;
    provider.base_url = without_trailing_slash(std::string(string_field(*entry, "baseUrl")));
    if (provider.base_url.empty()) {
      provider.base_url = kind == "anthropic" ? kAnthropicDefaultBase : kOpenAiDefaultBase;
    }
    if (provider.kind == ProviderKind::kOpenAi) apply_openai_defaults(provider);
    provider.api_key = string_field(*entry, "apiKey");
    if (std::string_view from = string_field(*entry, "apiKeyEnv"); !from.empty()) {
      provider.api_key = env(from).value_or("");
    }
    if (const json::array* models = array_field(*entry, "models")) {
      for (const auto& model : *models) {
        if (model.is_string()) provider.models.emplace_back(model.get_string());
      }
      provider.models_named = !provider.models.empty();
    }
    if (auto tokens = int_field(*entry, "maxTokens")) provider.max_tokens = static_cast<int>(*tokens);
    if (auto tokens = int_field(*entry, "maxTurnTokens")) provider.max_turn_tokens = *tokens;
    if (std::string_view field = string_field(*entry, "maxTokensField"); !field.empty()) {
      provider.max_tokens_field = field;
    }
    auto flag = [entry](std::string_view key, bool& target) {
      if (const json::value* value = entry->if_contains(key); value && value->is_bool())
        target = value->get_bool();
    };
    flag("streamOptions", provider.stream_options);
    flag("parallelToolCalls", provider.parallel_tool_calls_field);
    flag("images", provider.images);
    flag("tools", provider.native_tools);
    providers.push_back(std::move(provider));
  }
  return providers;
}

}  // namespace cellblock::chat
