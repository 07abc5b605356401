// Which providers the server talks to: the conventional environment variables, and the JSON file.

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "chat/provider_settings.h"

namespace cellblock::chat {
namespace {

GetEnv env_of(std::map<std::string, std::string> values) {
  return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
    auto it = values.find(std::string(name));
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ProvidersFromEnv, NothingSetMeansNoProvider) {
  EXPECT_TRUE(providers_from_env(env_of({})).empty());
  EXPECT_TRUE(providers_from_env(env_of({{"ANTHROPIC_API_KEY", ""}})).empty());
}

TEST(ProvidersFromEnv, AnthropicWithItsDefaults) {
  auto providers = providers_from_env(env_of({{"ANTHROPIC_API_KEY", "sk-ant"}}));
  ASSERT_EQ(providers.size(), 1u);
  EXPECT_EQ(providers[0].kind, ProviderKind::kAnthropic);
  EXPECT_EQ(providers[0].base_url, "https://api.anthropic.com");
  EXPECT_EQ(providers[0].api_key, "sk-ant");
  EXPECT_FALSE(providers[0].models.empty());
  EXPECT_FALSE(providers[0].models_named);
}

TEST(ProvidersFromEnv, ALocalServerNeedsNoKeyAndUsesMaxTokens) {
  auto providers = providers_from_env(
      env_of({{"OPENAI_BASE_URL", "http://127.0.0.1:11434/v1/"}, {"OPENAI_MODEL", "qwen2.5, llama3.1"}}));
  ASSERT_EQ(providers.size(), 1u);
  EXPECT_EQ(providers[0].base_url, "http://127.0.0.1:11434/v1");
  EXPECT_EQ(providers[0].name, "OpenAI-compatible");
  EXPECT_TRUE(providers[0].api_key.empty());
  EXPECT_EQ(providers[0].max_tokens_field, "max_tokens");
  EXPECT_EQ(providers[0].models, (std::vector<std::string>{"qwen2.5", "llama3.1"}));
  EXPECT_TRUE(providers[0].models_named);
}

TEST(ProvidersFromEnv, OpenAiItselfWantsMaxCompletionTokens) {
  auto providers = providers_from_env(env_of({{"OPENAI_API_KEY", "sk"}, {"ANTHROPIC_API_KEY", "a"}}));
  ASSERT_EQ(providers.size(), 2u);
  EXPECT_EQ(providers[1].base_url, "https://api.openai.com/v1");
  EXPECT_EQ(providers[1].max_tokens_field, "max_completion_tokens");
}

class ProvidersFromFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() / ("providers-" + std::to_string(::getpid()) + ".json"));
  }
  void TearDown() override { std::filesystem::remove(path_); }
  Result<std::vector<ProviderSettings>> load(const std::string& text) {
    std::ofstream(path_) << text;
    return providers_from_file(path_.string(), env_of({{"MY_KEY", "from-env"}}));
  }
  std::filesystem::path path_;
};

TEST_F(ProvidersFromFile, ReadsEveryField) {
  auto providers = load(R"({"providers": [
    {"id": "local", "name": "Ollama", "kind": "openai", "baseUrl": "http://127.0.0.1:11434/v1",
     "models": ["qwen"], "maxTokens": 1024, "streamOptions": false, "parallelToolCalls": false, "images": false},
    {"id": "claude", "kind": "anthropic", "apiKeyEnv": "MY_KEY"}]})");
  ASSERT_TRUE(providers) << providers.error().message;
  ASSERT_EQ(providers->size(), 2u);
  const auto& local = (*providers)[0];
  EXPECT_EQ(local.name, "Ollama");
  EXPECT_EQ(local.max_tokens, 1024);
  EXPECT_FALSE(local.stream_options);
  EXPECT_FALSE(local.parallel_tool_calls_field);
  EXPECT_FALSE(local.images);
  EXPECT_TRUE(local.models_named);
  const auto& claude = (*providers)[1];
  EXPECT_EQ(claude.api_key, "from-env");
  EXPECT_EQ(claude.base_url, "https://api.anthropic.com");
  EXPECT_EQ(claude.name, "claude");
}

TEST_F(ProvidersFromFile, MistakesNameTheField) {
  auto bad_kind = load(R"({"providers": [{"id": "x", "kind": "gemini"}]})");
  ASSERT_FALSE(bad_kind);
  EXPECT_NE(bad_kind.error().message.find("providers[0].kind"), std::string::npos);
  auto bad_id = load(R"({"providers": [{"id": "a/b", "kind": "openai"}]})");
  ASSERT_FALSE(bad_id);
  EXPECT_NE(bad_id.error().message.find("providers[0].id"), std::string::npos);
  EXPECT_FALSE(load("{not json"));
  EXPECT_FALSE(load(R"({"provider": []})"));
  EXPECT_EQ(providers_from_file("/nonexistent/providers.json", env_of({})).error().code,
            ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cellblock::chat
