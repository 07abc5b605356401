#pragma once
// The LLM providers the app offers and their models: the configured lists, replaced by what each provider
// reports when asked (at start, and again when the page asks for a provider that offered none). Shared by
// SessionRoutes (which shows them) and ChatRoutes (which picks one per turn); owned by App.

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "chat/provider_settings.h"

namespace cellblock::app {

namespace asio = boost::asio;

class ModelCatalog {
 public:
  ModelCatalog(std::vector<chat::ProviderSettings> providers, std::string provider_ca_file);

  // Asks every provider for its models.
  asio::awaitable<void> discover_all();
  // Asks again the providers that offer no model (a local model server started after cellblock).
  asio::awaitable<void> discover_missing();

  const std::vector<chat::ProviderSettings>& providers() const { return providers_; }
  // The provider of "<provider>/<model>" and that model; a bare provider id, or nothing at all, means that
  // (the first) provider's default model ("" when it lists none). nullptr when no provider matches.
  const chat::ProviderSettings* provider_for(std::string_view model_ref, std::string& model) const;
  const std::string& provider_ca_file() const { return provider_ca_file_; }

 private:
  // Asks one provider for its models; false when it could not be asked.
  asio::awaitable<bool> discover(chat::ProviderSettings& provider);

  std::vector<chat::ProviderSettings> providers_;
  std::string provider_ca_file_;  // extra trusted CA for providers (tests)
};

}  // namespace cellblock::app
