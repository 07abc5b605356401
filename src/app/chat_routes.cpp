#include "app/chat_routes.h"

#include <functional>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/handler_json.h"
#include "chat/execution_output.h"
#include "chat/ui_message_stream.h"
#include "common/encoding.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::size_t kTurnBodyLimit = 16 * 1024 * 1024;
constexpr std::size_t kTitleLength = 60;

// POST /api/chat's body.
struct TurnRequest {
  std::string chat_id;
  std::string message_id;
  json::array parts;  // the new user message's text and file parts
  std::string model_ref;
  std::string user;  // a script's userID (API key callers only)
};

// POST /api/run's body.
struct CellRequest {
  chat::RunRequest run;
  std::string chat_id;  // "": the cell joins no conversation
  std::string user;
};

// The provider and model a turn asked for.
struct ModelChoice {
  const chat::ProviderSettings* provider = nullptr;
  std::string model;
};

// A conversation with the user's new message recorded, and all its messages.
struct RecordedPrompt {
  store::ChatSummary chat;
  std::vector<store::StoredMessage> history;
};

// A script's API key acts for any userID it names; a person's session only for themself.
std::string acting_user(const Principal& who, std::string_view requested) {
  return who.by_api_key && !requested.empty() ? std::string(requested) : who.user;
}

json::object chat_summary_json(const store::ChatSummary& chat) {
  return json::object{{"id", chat.id},
                      {"title", chat.title},
                      {"model", chat.model},
                      {"createdAt", rfc3339(chat.created_at)},
                      {"updatedAt", rfc3339(chat.updated_at)}};
}

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

Result<CellRequest> parse_cell_request(const json::object& body, const Principal& who) {
  CellRequest request;
  request.run.code = string_member(body, "code");
  if (std::string_view language = string_member(body, "language"); !language.empty()) {
    request.run.language = language;
  }
  request.chat_id = string_member(body, "chatId");
  request.user = acting_user(who, string_member(body, "userID"));
  if (request.run.code.empty()) {
    return fail(ErrorCode::kInvalidArgument, "`code` must be a non-empty string");
  }
  return request;
}

// "<provider>/<model>", or a provider's default, among the configured providers.
Result<ModelChoice> choose_model(const ModelCatalog& models, const std::string& model_ref) {
  if (models.providers().empty()) {
    return fail(ErrorCode::kUnavailable,
                "no LLM provider is configured: set ANTHROPIC_API_KEY, or OPENAI_API_KEY / OPENAI_BASE_URL "
                "(OpenAI, Ollama, llama.cpp, vLLM), and restart cellblock serve");
  }
  ModelChoice choice;
  choice.provider = models.provider_for(model_ref, choice.model);
  if (choice.provider == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "unknown provider in model '" + model_ref + "'");
  }
  if (choice.model.empty()) {
    return fail(ErrorCode::kInvalidArgument, "choose a model: " + choice.provider->name + " lists none");
  }
  return choice;
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

// Records the user's new message (the chat is created with its first one).
Result<RecordedPrompt> record_prompt(store::ChatStore& chats, const std::string& user,
                                     const TurnRequest& request, const std::string& model_ref) {
  auto chat = chats.ensure_chat(user, request.chat_id, title_of(request.parts), model_ref);
  if (!chat) return tl::unexpected(chat.error());
  store::StoredMessage prompt{request.message_id, "user", json::serialize(request.parts), std::nullopt, 0};
  if (auto saved = chats.append_message(user, request.chat_id, prompt); !saved) {
    return tl::unexpected(saved.error());
  }
  auto history = chats.messages(user, request.chat_id);
  if (!history) return tl::unexpected(history.error());
  return RecordedPrompt{std::move(*chat), std::move(*history)};
}

// What the model is asked: the conversation so far, ending with the user's new message.
chat::TurnInput turn_input(const ModelChoice& choice, const std::vector<store::StoredMessage>& history,
                           const std::string& ca_file) {
  std::vector<json::object> ui_messages;
  for (const auto& message : history) ui_messages.push_back(ui_message_json(message));
  chat::TurnInput input;
  input.provider = *choice.provider;
  input.model = choice.model;
  input.system = chat::default_system_prompt();
  input.messages = chat::model_messages_from_ui(ui_messages);
  input.message_id = "msg_" + random_id(16);
  input.ca_file = ca_file;
  return input;
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

// Where a hand-run cell is kept: with a chat id it joins that conversation (created on demand; the model sees
// the cell next turn), without one nowhere.
Result<LiveStream::Persist> cell_persistence(store::ChatStore& chats, const CellRequest& request,
                                             const std::string& message_id) {
  if (request.chat_id.empty()) return LiveStream::Persist([](const chat::UiMessageBuilder&) {});
  json::array title_parts{json::object{{"type", "text"}, {"text", request.run.code}}};
  auto chat = chats.ensure_chat(request.user, request.chat_id, title_of(title_parts), "");
  if (!chat) return tl::unexpected(chat.error());
  return persist_to(chats, request.user, request.chat_id, message_id);
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

asio::awaitable<void> ChatRoutes::list_chats(const Principal& who, http::ResponseWriter& writer) {
  auto chats = chats_.list_chats(who.user, 200);
  if (!chats) {
    co_await writer.send(http::error_response(chats.error()));
    co_return;
  }
  json::array list;
  for (const auto& chat : *chats) list.push_back(chat_summary_json(chat));
  json::object answer{{"chats", std::move(list)}};
  co_await writer.send(http::json_response(200, json::serialize(answer)));
}

asio::awaitable<void> ChatRoutes::chat_detail(const Principal& who, const std::string& id,
                                              http::ResponseWriter& writer) {
  auto chat = chats_.get_chat(who.user, id);
  auto messages = chat ? chats_.messages(who.user, id) : Result<std::vector<store::StoredMessage>>();
  if (!chat || !messages) {
    Error error = chat ? messages.error() : chat.error();
    co_await writer.send(http::error_response(error));
    co_return;
  }
  json::object answer = chat_summary_json(*chat);
  json::array list;
  for (const auto& message : *messages) list.push_back(ui_message_json(message));
  answer["messages"] = std::move(list);
  answer["answering"] = live_turn(who, id) != nullptr;
  co_await writer.send(http::json_response(200, json::serialize(answer)));
}

asio::awaitable<void> ChatRoutes::delete_chat(const Principal& who, const std::string& id,
                                              http::ResponseWriter& writer) {
  if (auto owned = chats_.get_chat(who.user, id); !owned) {
    co_await writer.send(http::error_response(owned.error()));
    co_return;
  }
  if (const LiveTurn* live = live_turn(who, id)) live->stream->abort_handle()->abort();
  co_await kernels_.remove(id);
  auto deleted = chats_.delete_chat(who.user, id);
  if (!deleted) {
    co_await writer.send(http::error_response(deleted.error()));
    co_return;
  }
  co_await writer.send(no_content());
}

asio::awaitable<void> ChatRoutes::chat_turn(const Principal& who, http::BodyReader& body,
                                            http::ResponseWriter& writer) {
  auto object = co_await read_json_object(body, kTurnBodyLimit);
  auto request = object ? parse_turn_request(*object) : Result<TurnRequest>(tl::unexpected(object.error()));
  auto choice = request ? choose_model(models_, request->model_ref)
                        : Result<ModelChoice>(tl::unexpected(request.error()));
  if (choice && live_turns_.contains(request->chat_id)) {
    choice = fail(ErrorCode::kConflict, "this conversation is still answering: stop it or wait");
  }
  if (!choice) {
    co_await writer.send(http::error_response(choice.error()));
    co_return;
  }
  const std::string user = acting_user(who, request->user);
  auto recorded = record_prompt(chats_, user, *request, choice->provider->id + "/" + choice->model);
  if (!recorded) {
    co_await writer.send(http::error_response(recorded.error()));
    co_return;
  }
  chat::TurnInput input = turn_input(*choice, recorded->history, models_.provider_ca_file());
  json::object chat_info{{"id", recorded->chat.id}, {"title", recorded->chat.title}};
  auto executor = co_await asio::this_coro::executor;
  auto stream = start_turn(executor, user, request->chat_id, std::move(chat_info), std::move(input));
  co_await stream->follow(writer);
}

// The turn runs on its own: a reload or a lost connection does not stop it, and the page picks it up again
// (GET /api/chat/{id}/stream). Stopping takes POST /api/chat/{id}/stop.
std::shared_ptr<LiveStream> ChatRoutes::start_turn(asio::any_io_executor executor, const std::string& user,
                                                   const std::string& chat_id, json::object chat_info,
                                                   chat::TurnInput input) {
  auto stream =
      std::make_shared<LiveStream>(std::move(executor), persist_to(chats_, user, chat_id, input.message_id));
  live_turns_[chat_id] = LiveTurn{user, stream};
  auto runner = std::make_unique<SandboxCodeRunner>(sandboxes_, kernels_, user, chat_id);
  std::function<void()> on_end = [this, chat_id, weak = std::weak_ptr<LiveStream>(stream)] {
    auto live = live_turns_.find(chat_id);
    if (live != live_turns_.end() && live->second.stream == weak.lock()) live_turns_.erase(live);
  };
  stream->start(run_chat_turn(std::move(input), std::move(runner), stream, std::move(chat_info)),
                std::move(on_end));
  return stream;
}

asio::awaitable<void> ChatRoutes::resume_turn(const Principal& who, const std::string& id,
                                              http::ResponseWriter& writer) {
  const LiveTurn* live = live_turn(who, id);
  if (live == nullptr) {
    co_await writer.send(no_content());
    co_return;
  }
  std::shared_ptr<LiveStream> stream = live->stream;
  co_await stream->follow(writer);
}

asio::awaitable<void> ChatRoutes::stop_turn(const Principal& who, const std::string& id,
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

const ChatRoutes::LiveTurn* ChatRoutes::live_turn(const Principal& who, std::string_view id) const {
  auto live = live_turns_.find(id);
  if (live == live_turns_.end()) return nullptr;
  // A script's API key acts for any userID; a person's session only for themself.
  return who.by_api_key || live->second.user == who.user ? &live->second : nullptr;
}

void ChatRoutes::stop() {
  for (auto& [id, live] : live_turns_) live.stream->abort_handle()->abort();
}

asio::awaitable<void> ChatRoutes::run_cell(const Principal& who, http::BodyReader& body,
                                           http::ResponseWriter& writer) {
  auto object = co_await read_json_object(body, kTurnBodyLimit);
  auto request =
      object ? parse_cell_request(*object, who) : Result<CellRequest>(tl::unexpected(object.error()));
  const std::string message_id = "msg_" + random_id(16);
  auto persist = request ? cell_persistence(chats_, *request, message_id)
                         : Result<LiveStream::Persist>(tl::unexpected(request.error()));
  if (!persist) {
    co_await writer.send(http::error_response(persist.error()));
    co_return;
  }
  auto executor = co_await asio::this_coro::executor;
  auto stream = std::make_shared<LiveStream>(executor, std::move(*persist));
  auto runner = std::make_unique<SandboxCodeRunner>(sandboxes_, kernels_, request->user, request->chat_id);
  stream->start(run_hand_cell(message_id, std::move(request->run), std::move(runner), stream), [] {});
  // A hand run belongs to the request that started it: when the page goes away, the cell is interrupted.
  bool delivered = co_await stream->follow(writer);
  if (!delivered) stream->abort_handle()->abort();
}

}  // namespace cellblock::app
