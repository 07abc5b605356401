#pragma once
// Streams one completion from a provider over HTTP: builds the request, retries refusals that are worth
// retrying (429, 5xx, Anthropic's 529) before anything was streamed, and yields normalized provider events as
// the body arrives.

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "chat/anthropic_stream.h"
#include "chat/openai_stream.h"
#include "chat/provider_settings.h"
#include "chat/request_body.h"
#include "common/error.h"
#include "http/client.h"

namespace cellblock::chat {

namespace asio = boost::asio;

class CompletionStream {
 public:
  CompletionStream(ProviderKind kind, std::unique_ptr<http::ClientResponse> response);
  // The next events (possibly none while bytes trickle in); empty and done() at the end. A broken connection
  // ends the stream with a StreamError event.
  asio::awaitable<std::vector<ProviderEvent>> next();
  bool done() const { return done_; }

 private:
  std::unique_ptr<http::ClientResponse> response_;
  std::variant<AnthropicStream, OpenAiStream> parser_;
  bool done_ = false;
};

struct CallOptions {
  std::shared_ptr<AbortHandle> abort;
  int max_attempts = 3;
  std::chrono::seconds max_retry_delay{20};
  std::string ca_file;  // extra trusted CA (tests)
};

// Opens the stream. Errors carry the provider's own words, e.g. "Anthropic: invalid x-api-key
// (authentication_error, HTTP 401)", with the matching code (kUnauthenticated, kResourceExhausted,
// kUnavailable, …); kCanceled when aborted.
asio::awaitable<Result<std::unique_ptr<CompletionStream>>> open_completion(const ProviderSettings& provider,
                                                                           const CompletionRequest& request,
                                                                           const CallOptions& options);

// The models the provider lists (GET /v1/models); an error when it cannot be asked.
asio::awaitable<Result<std::vector<std::string>>> list_models(const ProviderSettings& provider,
                                                              std::string ca_file = {});

// Turns a provider's non-2xx answer into an error (both providers' error shapes).
Error provider_http_error(const ProviderSettings& provider, int status, std::string_view body);

// True when an error from open_completion says the model or server cannot take tools: Ollama ("… does not
// support tools"), llama.cpp without --jinja ("tools param requires --jinja flag"), vLLM without auto tool
// choice ("\"auto\" tool choice requires --enable-auto-tool-choice …").
bool refuses_tools(const Error& error);

}  // namespace cellblock::chat
