#include "app/model_catalog.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "chat/provider_client.h"

namespace cellblock::app {

namespace {

// OpenAI's model list also holds embedding, audio, image and moderation models.
bool not_a_chat_model(const std::string& id) {
  bool chat = id.starts_with("gpt-") || id.starts_with("chatgpt-") ||
              (id.size() > 1 && id[0] == 'o' && id[1] >= '1' && id[1] <= '9');
  bool special = id.find("audio") != std::string::npos || id.find("realtime") != std::string::npos ||
                 id.find("transcribe") != std::string::npos || id.find("tts") != std::string::npos ||
                 id.find("image") != std::string::npos || id.find("search") != std::string::npos;
  return !chat || special;
}

}  // namespace

ModelCatalog::ModelCatalog(std::vector<chat::ProviderSettings> providers, std::string provider_ca_file)
    : providers_(std::move(providers)), provider_ca_file_(std::move(provider_ca_file)) {}

asio::awaitable<void> ModelCatalog::discover_all() {
  for (auto& provider : providers_) co_await discover(provider);
}

asio::awaitable<void> ModelCatalog::discover_missing() {
  for (auto& provider : providers_) {
    if (provider.models.empty()) co_await discover(provider);
  }
}

const chat::ProviderSettings* ModelCatalog::provider_for(std::string_view model_ref,
                                                         std::string& model) const {
  auto slash = model_ref.find('/');
  std::string_view id = model_ref.substr(0, slash);
  for (const auto& provider : providers_) {
    if (!id.empty() && provider.id != id) continue;
    if (slash != std::string_view::npos) {
      model = model_ref.substr(slash + 1);
    } else {
      model = provider.models.empty() ? std::string() : provider.models.front();
    }
    return &provider;
  }
  return nullptr;
}

asio::awaitable<bool> ModelCatalog::discover(chat::ProviderSettings& provider) {
  auto models = co_await chat::list_models(provider, provider_ca_file_);
  if (!models || models->empty()) {
    spdlog::warn("chat: cannot list the models of {} ({}); offering {}", provider.name,
                 models ? "empty list" : models.error().message,
                 provider.models.empty() ? "none" : fmt::format("{}", fmt::join(provider.models, ", ")));
    co_return false;
  }
  // OpenAI lists every model it has (embeddings, speech, images): only chat models belong in the picker.
  bool official_openai = provider.base_url.find("api.openai.com") != std::string::npos;
  if (official_openai) std::erase_if(*models, not_a_chat_model);
  // Our guess of a default gives way to the provider's own list (Anthropic's is newest first, a local server
  // lists what it has), except on OpenAI, whose list has no useful order.
  if (!provider.models_named && !official_openai && !models->empty()) provider.models.clear();
  for (auto& model : *models) {
    if (std::find(provider.models.begin(), provider.models.end(), model) == provider.models.end()) {
      provider.models.push_back(std::move(model));
    }
  }
  co_return true;
}

}  // namespace cellblock::app
