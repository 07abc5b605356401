#include "chat/provider_client.h"

#include <array>
#include <charconv>

#include <fmt/format.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chat/stream_json.h"

namespace cellblock::chat {

namespace json = boost::json;

namespace {

constexpr std::size_t kErrorBodyLimit = 64 * 1024;
constexpr std::size_t kModelsBodyLimit = 4 * 1024 * 1024;

ErrorCode code_for_status(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 413:
      return ErrorCode::kPayloadTooLarge;
    case 429:
      return ErrorCode::kResourceExhausted;
    default:
      return ErrorCode::kUnavailable;
  }
}

bool worth_retrying(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 529;
}

http::ClientRequest base_request(const ProviderSettings& provider, std::string method, std::string path) {
  http::ClientRequest request;
  request.method = std::move(method);
  request.url = provider.base_url + path;
  if (provider.kind == ProviderKind::kAnthropic) {
    request.headers.add("x-api-key", provider.api_key);
    request.headers.add("anthropic-version", provider.anthropic_version);
  } else if (!provider.api_key.empty()) {
    request.headers.add("Authorization", "Bearer " + provider.api_key);
  }
  return request;
}

std::chrono::seconds retry_delay(const http::ClientResponse& response, int attempt,
                                 std::chrono::seconds cap) {
  std::chrono::seconds delay(1 << attempt);  // 2 s, 4 s, …
  if (auto header = response.headers().get("retry-after")) {
    int seconds = 0;
    auto [end, ec] = std::from_chars(header->data(), header->data() + header->size(), seconds);
    if (ec == std::errc() && seconds >= 0) delay = std::chrono::seconds(seconds);
  }
  return std::min(delay, cap);
}

// Sleeps, cut short (kCanceled) by the abort handle.
asio::awaitable<Status> sleep_for(std::chrono::seconds delay, const std::shared_ptr<AbortHandle>& abort) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  AbortHandle::Registration registration;
  if (abort) registration = abort->on_abort([&timer] { timer.cancel(); });
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));  // cancellation is checked below
  if (abort && abort->aborted()) co_return fail(ErrorCode::kCanceled, "the request was canceled");
  co_return Status{};
}

std::string provider_label(const ProviderSettings& provider) {
  return provider.name.empty() ? provider.id : provider.name;
}

}  // namespace

bool refuses_tools(const Error& error) {
  if (error.code != ErrorCode::kInvalidArgument && error.code != ErrorCode::kUnavailable) return false;
  for (std::string_view says : {"does not support tools", "requires --jinja", "enable-auto-tool-choice"}) {
    if (error.message.find(says) != std::string::npos) return true;
  }
  return false;
}

Error provider_http_error(const ProviderSettings& provider, int status, std::string_view body) {
  std::string type;
  std::string message;
  if (auto parsed = parse_data_object(body)) {
    // Anthropic: {"type":"error","error":{"type","message"}}; OpenAI: {"error":{"message","type","code"}}.
    if (const json::object* error = object_field(*parsed, "error")) {
      type = string_field(*error, "type");
      message = string_field(*error, "message");
    } else if (const json::value* error = parsed->if_contains("error"); error && error->is_string()) {
      message = error->get_string();  // some compatible servers: {"error": "..."}
    }
  }
  if (message.empty()) {
    message = body.empty() ? "no details" : std::string(body.substr(0, 300));
  }
  std::string text =
      type.empty() ? fmt::format("{}: {} (HTTP {})", provider_label(provider), message, status)
                   : fmt::format("{}: {} ({}, HTTP {})", provider_label(provider), message, type, status);
  return Error{code_for_status(status), std::move(text)};
}

CompletionStream::CompletionStream(ProviderKind kind, std::unique_ptr<http::ClientResponse> response)
    : response_(std::move(response)),
      parser_(kind == ProviderKind::kAnthropic ? decltype(parser_){AnthropicStream{}}
                                               : decltype(parser_){OpenAiStream{}}) {}

asio::awaitable<std::vector<ProviderEvent>> CompletionStream::next() {
  std::vector<ProviderEvent> events;
  if (done_) co_return events;
  std::array<char, 16 * 1024> buffer{};
  auto read = co_await response_->read_some(buffer);
  if (!read) {
    done_ = true;
    StreamError error;
    error.code = read.error().code == ErrorCode::kCanceled ? "canceled" : std::string(kIncompleteStream);
    error.message = "the provider's stream broke: " + read.error().message;
    events.emplace_back(std::move(error));
    co_return events;
  }
  std::string_view bytes(buffer.data(), *read);
  std::visit(
      [&](auto& parser) {
        if (bytes.empty()) {
          parser.end_of_body(events);
        } else {
          parser.feed(bytes, events);
        }
        done_ = parser.done() || bytes.empty();
      },
      parser_);
  co_return events;
}

asio::awaitable<Result<std::unique_ptr<CompletionStream>>> open_completion(const ProviderSettings& provider,
                                                                           const CompletionRequest& request,
                                                                           const CallOptions& options) {
  bool anthropic = provider.kind == ProviderKind::kAnthropic;
  json::object body = anthropic ? anthropic_body(provider, request) : openai_body(provider, request);
  std::string path = anthropic ? "/v1/messages" : "/chat/completions";
  http::ClientOptions client_options;
  client_options.abort = options.abort;
  client_options.ca_file = options.ca_file;
  client_options.idle_timeout = std::chrono::minutes(5);
  for (int attempt = 1;; ++attempt) {
    http::ClientRequest call = base_request(provider, "POST", path);
    call.headers.add("content-type", "application/json");
    call.headers.add("accept", "text/event-stream");
    call.body = json::serialize(body);
    auto response = co_await http::fetch(std::move(call), client_options);
    if (!response) {
      Error error = response.error();
      if (error.code != ErrorCode::kCanceled) {
        error.message = fmt::format("{}: {}", provider_label(provider), error.message);
      }
      co_return tl::unexpected(std::move(error));
    }
    int status = (*response)->status();
    if (status >= 200 && status < 300) {
      co_return std::make_unique<CompletionStream>(provider.kind, std::move(*response));
    }
    auto error_body = co_await (*response)->read_all(kErrorBodyLimit);
    std::string text = error_body ? *error_body : std::string();
    Error error = provider_http_error(provider, status, text);
    // A refusal of tools (llama.cpp answers it with a 500) will not change on a second try.
    if (!worth_retrying(status) || attempt >= options.max_attempts || refuses_tools(error)) {
      co_return tl::unexpected(std::move(error));
    }
    auto delay = retry_delay(**response, attempt, options.max_retry_delay);
    if (auto slept = co_await sleep_for(delay, options.abort); !slept)
      co_return tl::unexpected(slept.error());
  }
}

asio::awaitable<Result<std::vector<std::string>>> list_models(const ProviderSettings& provider,
                                                              std::string ca_file) {
  bool anthropic = provider.kind == ProviderKind::kAnthropic;
  http::ClientRequest call = base_request(provider, "GET", anthropic ? "/v1/models?limit=100" : "/models");
  http::ClientOptions client_options;
  client_options.ca_file = std::move(ca_file);
  client_options.connect_timeout = std::chrono::seconds(5);
  client_options.idle_timeout = std::chrono::seconds(10);
  auto response = co_await http::fetch(std::move(call), client_options);
  if (!response) co_return tl::unexpected(response.error());
  auto body = co_await (*response)->read_all(kModelsBodyLimit);
  if (!body) co_return tl::unexpected(body.error());
  int status = (*response)->status();
  if (status < 200 || status >= 300) co_return tl::unexpected(provider_http_error(provider, status, *body));
  auto parsed = parse_data_object(*body);
  const json::array* data = parsed ? array_field(*parsed, "data") : nullptr;
  if (data == nullptr)
    co_return fail(ErrorCode::kUnavailable, "unexpected model list from " + provider.base_url);
  std::vector<std::string> models;
  for (const json::value& item : *data) {
    if (const json::object* model = item.if_object()) {
      if (std::string_view id = string_field(*model, "id"); !id.empty()) models.emplace_back(id);
    }
  }
  co_return models;
}

}  // namespace cellblock::chat
