// POST /api/chat (a chat turn) and POST /api/run (a cell the user runs by hand): both answer with the UI
// message stream and store what they streamed in the conversation.

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/app.h"
#include "app/handler_json.h"
#include "app/live_stream.h"
#include "chat/execution_output.h"
#include "chat/ui_message_stream.h"
#include "common/encoding.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::size_t kTurnBodyLimit = 16 * 1024 * 1024;
constexpr std::size_t kTitleLength = 60;

struct TurnRequest {
  std::string chat_id;
  std::string message_id;
  json::array parts;  // the new user message's text and file parts
  std::string model_ref;
  std::string user;  // a script's userID (API key callers only)
};

// Keeps the parts a user message may carry: text, and files uploaded into the sandbox.
json::array user_parts(const json::array& parts) {
  json::array kept;
  for (const json::value& value : parts) {
    const json::object* part = value.if_object();
    if (part == nullptr) continue;
    std::string_view type = string_member(*part, "type");
    if (type == "text" && !string_member(*part, "text").empty()) {
      kept.push_back(json::object{{"type", "text"}, {"text", string_member(*part, "text")}});
    } else if (type == "file" && string_member(*part, "url").starts_with("sandbox:///")) {
      kept.push_back(json::object{{"type", "file"},
                                  {"mediaType", string_member(*part, "mediaType")},
                                  {"filename", string_member(*part, "filename")},
                                  {"url", string_member(*part, "url")}});
    }
  }
  return kept;
}

Result<TurnRequest> parse_turn_request(const json::object& body) {
  TurnRequest request;
  request.chat_id = string_member(body, "id");
  if (!store::ChatStore::valid_id(request.chat_id)) {
    return fail(ErrorCode::kInvalidArgument, "`id` must be a chat id of 1-128 letters, digits, '-' or '_'");
  }
  const json::value* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
    return fail(ErrorCode::kInvalidArgument, "`messages` must be a non-empty array of UI messages");
  }
  const json::object* last = messages->as_array().back().if_object();
  if (last == nullptr || string_member(*last, "role") != "user") {
    return fail(ErrorCode::kInvalidArgument, "the last message must be the user's new message");
  }
  request.message_id = string_member(*last, "id");
  if (!store::ChatStore::valid_id(request.message_id)) request.message_id = "msg_" + random_id(16);
  const json::value* parts = last->if_contains("parts");
  if (parts != nullptr && parts->is_array()) request.parts = user_parts(parts->as_array());
  if (request.parts.empty()) return fail(ErrorCode::kInvalidArgument, "the message has no text");
  request.model_ref = string_member(body, "model");
  request.user = string_member(body, "userID");
  return request;
}

std::string title_of(const json::array& parts) {
  for (const json::value& value : parts) {
    const json::object& part = value.as_object();
    if (string_member(part, "type") != "text") continue;
    std::string_view text = string_member(part, "text");
    auto newline = text.find('\n');
    if (newline != std::string_view::npos) text = text.substr(0, newline);
    std::string title = chat::trim_middle(text, 10 * kTitleLength);
    if (title.size() > kTitleLength)
      title = store::ChatStore::trim_title(title.substr(0, kTitleLength)) + "…";
    return title;
  }
  return "Files";
}

LiveStream::Persist persist_to(store::ChatStore& chats, std::string user, std::string chat_id,
                               std::string message_id) {
  return [&chats, user, chat_id, message_id](const chat::UiMessageBuilder& message) {
    store::StoredMessage stored;
    stored.id = message_id;
    stored.role = "assistant";
    stored.parts_json = json::serialize(message.parts());
    stored.metadata_json = json::serialize(message.metadata());
    if (auto saved = chats.append_message(user, chat_id, stored); !saved) {
      spdlog::warn("chat {}: cannot store the answer: {}", chat_id, saved.error().message);
    }
  };
}

// The work behind a chat turn: it holds what it uses, since it outlives the request that started it.
asio::awaitable<void> run_chat_turn(chat::TurnInput input, std::unique_ptr<SandboxCodeRunner> runner,
                                    std::shared_ptr<LiveStream> stream, json::object chat_info) {
  stream->push(chat::ui::data_part("chat", "", chat_info, true));
  chat::ChunkSink sink = stream->sink();
  chat::TurnLimits limits;
  limits.max_tokens = input.provider.max_turn_tokens;
  co_await chat::run_turn(std::move(input), *runner, sink, stream->abort_handle(), limits);
}

// Runs one hand-written cell as a single tool part.
asio::awaitable<void> run_hand_cell(std::string message_id, chat::RunRequest request,
                                    std::unique_ptr<SandboxCodeRunner> runner,
                                    std::shared_ptr<LiveStream> stream) {
  const std::string call_id = "run_" + random_id(16);
  stream->push(chat::ui::start(message_id));
  stream->push(chat::ui::start_step());
  json::object input{{"code", request.code}, {"language", request.language}, {"title", "Run by hand"}};
  stream->push(chat::ui::tool_input_available(call_id, chat::kRunCodeTool, input));
  chat::ProgressCallback progress = [&stream, call_id](const json::object& output) -> asio::awaitable<void> {
    stream->push(chat::ui::tool_output_available(call_id, output, true));
    co_return;
  };
  auto output = co_await runner->run(std::move(request), progress, stream->abort_handle());
  if (output) {
    stream->push(chat::ui::tool_output_available(call_id, *output));
  } else {
    stream->push(chat::ui::tool_output_error(call_id, "the code could not run: " + output.error().message));
  }
  stream->push(chat::ui::finish_step());
  const std::string_view reason = stream->abort_handle()->aborted() ? "interrupted" : "stop";
  stream->push(chat::ui::finish(reason));
}

}  // namespace

asio::awaitable<void> App::chat_turn(const Principal& who, http::BodyReader& body,
                                     http::ResponseWriter& writer) {
  auto object = co_await read_json_object(body, kTurnBodyLimit);
  auto request = object ? parse_turn_request(*object) : Result<TurnRequest>(tl::unexpected(object.error()));
  if (!request) {
    co_await writer.send(http::error_response(request.error()));
    co_return;
  }
  std::string user = who.by_api_key && !request->user.empty() ? request->user : who.user;
  std::string model;
  const chat::ProviderSettings* provider = provider_for(request->model_ref, model);
  Status problem;
  if (settings_.providers.empty()) {
    problem =
        fail(ErrorCode::kUnavailable,
             "no LLM provider is configured: set ANTHROPIC_API_KEY, or OPENAI_API_KEY / OPENAI_BASE_URL "
             "(OpenAI, Ollama, llama.cpp, vLLM), and restart cellblock serve");
  } else if (provider == nullptr) {
    problem = fail(ErrorCode::kInvalidArgument, "unknown provider in model '" + request->model_ref + "'");
  } else if (model.empty()) {
    problem = fail(ErrorCode::kInvalidArgument, "choose a model: " + provider->name + " lists none");
  } else if (live_turns_.contains(request->chat_id)) {
    problem = fail(ErrorCode::kConflict, "this conversation is still answering: stop it or wait");
  }
  if (!problem) {
    co_await writer.send(http::error_response(problem.error()));
    co_return;
  }
  const std::string model_ref = provider->id + "/" + model;
  auto chat = chats_.ensure_chat(user, request->chat_id, title_of(request->parts), model_ref);
  store::StoredMessage prompt{request->message_id, "user", json::serialize(request->parts), std::nullopt, 0};
  auto saved =
      chat ? chats_.append_message(user, request->chat_id, prompt) : Status(tl::unexpected(chat.error()));
  auto history = saved ? chats_.messages(user, request->chat_id)
                       : Result<std::vector<store::StoredMessage>>(tl::unexpected(saved.error()));
  if (!history) {
    co_await writer.send(http::error_response(history.error()));
    co_return;
  }
  std::vector<json::object> ui_messages;
  for (const auto& message : *history) ui_messages.push_back(ui_message_json(message));

  chat::TurnInput input;
  input.provider = *provider;
  input.model = model;
  input.system = chat::default_system_prompt();
  input.messages = chat::model_messages_from_ui(ui_messages);
  input.message_id = "msg_" + random_id(16);
  input.ca_file = settings_.provider_ca_file;

  // The turn runs on its own: a reload or a lost connection does not stop it, and the page picks it up again
  // (GET /api/chat/{id}/stream). Stopping takes POST /api/chat/{id}/stop.
  auto executor = co_await asio::this_coro::executor;
  auto stream =
      std::make_shared<LiveStream>(executor, persist_to(chats_, user, request->chat_id, input.message_id));
  live_turns_[request->chat_id] = LiveTurn{user, stream};
  json::object chat_info{{"id", chat->id}, {"title", chat->title}};
  auto runner = std::make_unique<SandboxCodeRunner>(sandboxes_, kernels_, user, request->chat_id);
  std::function<void()> on_end = [this, id = request->chat_id, weak = std::weak_ptr<LiveStream>(stream)] {
    auto live = live_turns_.find(id);
    if (live != live_turns_.end() && live->second.stream == weak.lock()) live_turns_.erase(live);
  };
  stream->start(run_chat_turn(std::move(input), std::move(runner), stream, std::move(chat_info)),
                std::move(on_end));
  co_await stream->follow(writer);
}

asio::awaitable<void> App::resume_turn(const Principal& who, const std::string& id,
                                       http::ResponseWriter& writer) {
  const LiveTurn* live = live_turn(who, id);
  if (live == nullptr) {
    co_await writer.send(no_content());
    co_return;
  }
  std::shared_ptr<LiveStream> stream = live->stream;
  co_await stream->follow(writer);
}

asio::awaitable<void> App::stop_turn(const Principal& who, const std::string& id,
                                     http::ResponseWriter& writer) {
  const LiveTurn* live = live_turn(who, id);
  if (live == nullptr) {
    co_await writer.send(
        http::error_response(ErrorCode::kNotFound, "no answer is streaming in conversation " + id));
    co_return;
  }
  live->stream->abort_handle()->abort();
  co_await writer.send(no_content());
}

const App::LiveTurn* App::live_turn(const Principal& who, std::string_view id) const {
  auto live = live_turns_.find(id);
  if (live == live_turns_.end()) return nullptr;
  // A script's API key acts for any userID; a person's session only for themself.
  return who.by_api_key || live->second.user == who.user ? &live->second : nullptr;
}

void App::stop() {
  for (auto& [id, live] : live_turns_) live.stream->abort_handle()->abort();
}

asio::awaitable<void> App::run_cell(const Principal& who, http::BodyReader& body,
                                    http::ResponseWriter& writer) {
  auto object = co_await read_json_object(body, kTurnBodyLimit);
  if (!object) {
    co_await writer.send(http::error_response(object.error()));
    co_return;
  }
  chat::RunRequest request;
  request.code = string_member(*object, "code");
  if (std::string_view language = string_member(*object, "language"); !language.empty()) {
    request.language = language;
  }
  std::string chat_id(string_member(*object, "chatId"));
  std::string user = who.by_api_key && !string_member(*object, "userID").empty()
                         ? std::string(string_member(*object, "userID"))
                         : who.user;
  if (request.code.empty()) {
    co_await writer.send(
        http::error_response(ErrorCode::kInvalidArgument, "`code` must be a non-empty string"));
    co_return;
  }
  // With a chat id the run joins that conversation (the model sees it next turn).
  const std::string message_id = "msg_" + random_id(16);
  LiveStream::Persist persist = [](const chat::UiMessageBuilder&) {};
  if (!chat_id.empty()) {
    json::array title_parts{json::object{{"type", "text"}, {"text", request.code}}};
    auto chat = chats_.ensure_chat(user, chat_id, title_of(title_parts), "");
    if (!chat) {
      co_await writer.send(http::error_response(chat.error()));
      co_return;
    }
    persist = persist_to(chats_, user, chat_id, message_id);
  }
  auto executor = co_await asio::this_coro::executor;
  auto stream = std::make_shared<LiveStream>(executor, std::move(persist));
  auto runner = std::make_unique<SandboxCodeRunner>(sandboxes_, kernels_, user, chat_id);
  stream->start(run_hand_cell(message_id, std::move(request), std::move(runner), stream), [] {});
  // A hand run belongs to the request that started it: when the page goes away, the cell is interrupted.
  bool delivered = co_await stream->follow(writer);
  if (!delivered) stream->abort_handle()->abort();
}

}  // namespace cellblock::app
