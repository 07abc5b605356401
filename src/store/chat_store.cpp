#include "store/chat_store.h"

#include <utility>

#include <fmt/format.h>
#include <boost/json.hpp>

namespace cellblock::store {
namespace {

constexpr std::string_view kChatColumns = "id, user_id, title, model, created_at, updated_at";

ChatSummary read_chat(const Statement& stmt) {
  ChatSummary chat;
  chat.id = stmt.column_text(0);
  chat.user_id = stmt.column_text(1);
  chat.title = stmt.column_text(2);
  chat.model = stmt.column_text(3);
  chat.created_at = stmt.column_int64(4);
  chat.updated_at = stmt.column_int64(5);
  return chat;
}

// Same message whether the chat is missing or another user's: the answer must not tell them apart.
tl::unexpected<Error> chat_not_found(std::string_view chat_id) {
  return fail(ErrorCode::kNotFound, fmt::format("chat \"{}\" not found", chat_id));
}

Status check_id(std::string_view what, std::string_view id) {
  if (ChatStore::valid_id(id)) return {};
  // The id itself is not echoed: it may be anything, of any length.
  return fail(ErrorCode::kInvalidArgument,
              fmt::format("{} must be 1 to {} characters of [A-Za-z0-9_-]", what, ChatStore::kMaxIdLength));
}

Status check_user(std::string_view user_id) {
  if (!user_id.empty()) return {};
  return fail(ErrorCode::kInvalidArgument, "user id must not be empty");
}

Status check_chat_key(std::string_view user_id, std::string_view chat_id) {
  if (auto user = check_user(user_id); !user) return user;
  return check_id("chat id", chat_id);
}

Status check_role(std::string_view role) {
  if (role == "user" || role == "assistant" || role == "system") return {};
  return fail(ErrorCode::kInvalidArgument, "message role must be \"user\", \"assistant\" or \"system\"");
}

// The schema checks the same (a CHECK constraint), but only with SQLite's generic message; this one names the
// field, and it runs before the write lock is taken.
Status check_parts(std::string_view parts_json) {
  boost::system::error_code ec;
  boost::json::value parts = boost::json::parse(parts_json, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "message parts are not valid JSON: " + ec.message());
  if (!parts.is_array()) return fail(ErrorCode::kInvalidArgument, "message parts must be a JSON array");
  return {};
}

// The AI SDK lets an application put any JSON value in a message's metadata.
Status check_metadata(const std::optional<std::string>& metadata_json) {
  if (!metadata_json) return {};
  boost::system::error_code ec;
  (void)boost::json::parse(*metadata_json, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "message metadata is not valid JSON: " + ec.message());
  return {};
}

Status check_message(const StoredMessage& message) {
  for (auto checked : {check_id("message id", message.id), check_role(message.role),
                       check_parts(message.parts_json), check_metadata(message.metadata_json)}) {
    if (!checked) return checked;
  }
  return {};
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// Every byte that is not a UTF-8 continuation byte (10xxxxxx) starts a character.
bool starts_character(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
}

}  // namespace

ChatStore::ChatStore(Database& db, Clock clock) : db_(&db), clock_(std::move(clock)) {}

bool ChatStore::valid_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

std::string ChatStore::trim_title(std::string_view title) {
  while (!title.empty() && is_space(title.front())) title.remove_prefix(1);
  while (!title.empty() && is_space(title.back())) title.remove_suffix(1);
  std::size_t characters = 0;
  for (std::size_t i = 0; i < title.size(); ++i) {
    if (starts_character(title[i]) && characters++ == kMaxTitleChars) return std::string(title.substr(0, i));
  }
  return std::string(title);
}

Result<std::optional<ChatSummary>> ChatStore::find_chat(std::string_view chat_id) {
  auto stmt = db_->prepare(fmt::format("SELECT {} FROM chats WHERE id = ?1", kChatColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, chat_id); !bound) return tl::unexpected(bound.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<ChatSummary>();
  return read_chat(*stmt);
}

Status ChatStore::insert_chat(const ChatSummary& chat) {
  auto stmt =
      db_->prepare(fmt::format("INSERT INTO chats ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", kChatColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, chat.id), stmt->bind_text(2, chat.user_id),
                     stmt->bind_text(3, chat.title), stmt->bind_text(4, chat.model),
                     stmt->bind_int64(5, chat.created_at), stmt->bind_int64(6, chat.updated_at)}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Status ChatStore::update_model(std::string_view chat_id, std::string_view model) {
  auto stmt = db_->prepare("UPDATE chats SET model = ?1 WHERE id = ?2");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, model), stmt->bind_text(2, chat_id)}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Result<ChatSummary> ChatStore::ensure_chat(std::string_view user_id, std::string_view chat_id,
                                           std::string_view title, std::string_view model) {
  if (auto valid = check_chat_key(user_id, chat_id); !valid) return tl::unexpected(valid.error());
  // One transaction: two requests for a new chat id must not both try to create it.
  auto tx = Transaction::begin(*db_);
  if (!tx) return tl::unexpected(tx.error());
  auto found = find_chat(chat_id);
  if (!found) return tl::unexpected(found.error());

  ChatSummary chat;
  if (!*found) {
    std::int64_t now = clock_();
    chat = ChatSummary{
        std::string(chat_id), std::string(user_id), trim_title(title), std::string(model), now, now};
    if (auto inserted = insert_chat(chat); !inserted) return tl::unexpected(inserted.error());
  } else {
    chat = std::move(**found);
    if (chat.user_id != user_id) return chat_not_found(chat_id);
    if (!model.empty() && model != chat.model) {
      if (auto updated = update_model(chat_id, model); !updated) return tl::unexpected(updated.error());
      chat.model = std::string(model);
    }
  }
  if (auto committed = tx->commit(); !committed) return tl::unexpected(committed.error());
  return chat;
}

Result<ChatSummary> ChatStore::get_chat(std::string_view user_id, std::string_view chat_id) {
  if (auto valid = check_chat_key(user_id, chat_id); !valid) return tl::unexpected(valid.error());
  auto stmt = db_->prepare(fmt::format("SELECT {} FROM chats WHERE id = ?1 AND user_id = ?2", kChatColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, chat_id), stmt->bind_text(2, user_id)}) {
    if (!bound) return tl::unexpected(bound.error());
  }
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return chat_not_found(chat_id);
  return read_chat(*stmt);
}

Result<std::vector<ChatSummary>> ChatStore::list_chats(std::string_view user_id, int limit) {
  if (auto valid = check_user(user_id); !valid) return tl::unexpected(valid.error());
  if (limit < 1 || limit > kMaxListLimit) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("limit must be between 1 and {}", kMaxListLimit));
  }
  // Ties (one clock tick) fall back to the newest chat, then the id, so the order is always the same.
  auto stmt = db_->prepare(fmt::format(
      "SELECT {} FROM chats WHERE user_id = ?1 ORDER BY updated_at DESC, created_at DESC, id DESC "
      "LIMIT ?2",
      kChatColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, user_id), stmt->bind_int64(2, limit)}) {
    if (!bound) return tl::unexpected(bound.error());
  }
  std::vector<ChatSummary> chats;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return chats;
    chats.push_back(read_chat(*stmt));
  }
}

Status ChatStore::delete_chat(std::string_view user_id, std::string_view chat_id) {
  if (auto valid = check_chat_key(user_id, chat_id); !valid) return valid;
  // One statement, so no transaction: the foreign key's ON DELETE CASCADE removes the messages within it.
  auto stmt = db_->prepare("DELETE FROM chats WHERE id = ?1 AND user_id = ?2");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, chat_id), stmt->bind_text(2, user_id)}) {
    if (!bound) return bound;
  }
  if (auto ran = stmt->run(); !ran) return ran;
  if (db_->changes() == 0) return chat_not_found(chat_id);
  return {};
}

Status ChatStore::rename_chat(std::string_view user_id, std::string_view chat_id, std::string_view title) {
  if (auto valid = check_chat_key(user_id, chat_id); !valid) return valid;
  auto stmt = db_->prepare("UPDATE chats SET title = ?1 WHERE id = ?2 AND user_id = ?3");
  if (!stmt) return tl::unexpected(stmt.error());
  std::string trimmed = trim_title(title);
  for (auto bound : {stmt->bind_text(1, trimmed), stmt->bind_text(2, chat_id), stmt->bind_text(3, user_id)}) {
    if (!bound) return bound;
  }
  if (auto ran = stmt->run(); !ran) return ran;
  // SQLite counts every row the WHERE matched, also when the title was already this one.
  if (db_->changes() == 0) return chat_not_found(chat_id);
  return {};
}

Result<std::vector<StoredMessage>> ChatStore::messages(std::string_view user_id, std::string_view chat_id) {
  if (auto valid = check_chat_key(user_id, chat_id); !valid) return tl::unexpected(valid.error());
  // One statement reads ownership and messages from the same snapshot; a chat without messages yields one row
  // of NULLs from the LEFT JOIN, a chat that is not the user's yields no row at all.
  auto stmt = db_->prepare(
      "SELECT m.id, m.role, m.parts, m.metadata, m.created_at, m.seq FROM chats AS c "
      "LEFT JOIN chat_messages AS m ON m.chat_id = c.id WHERE c.id = ?1 AND c.user_id = ?2 ORDER BY m.seq");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, chat_id), stmt->bind_text(2, user_id)}) {
    if (!bound) return tl::unexpected(bound.error());
  }
  std::vector<StoredMessage> messages;
  bool chat_found = false;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    chat_found = true;
    if (stmt->column_is_null(5)) continue;  // the chat has no messages
    StoredMessage message;
    message.id = stmt->column_text(0);
    message.role = stmt->column_text(1);
    message.parts_json = stmt->column_text(2);
    if (!stmt->column_is_null(3)) message.metadata_json = stmt->column_text(3);
    message.created_at = stmt->column_int64(4);
    messages.push_back(std::move(message));
  }
  if (!chat_found) return chat_not_found(chat_id);
  return messages;
}

Status ChatStore::check_owner(std::string_view user_id, std::string_view chat_id) {
  auto stmt = db_->prepare("SELECT 1 FROM chats WHERE id = ?1 AND user_id = ?2");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, chat_id), stmt->bind_text(2, user_id)}) {
    if (!bound) return bound;
  }
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return chat_not_found(chat_id);
  return {};
}

Result<std::optional<std::string>> ChatStore::stored_role(std::string_view chat_id,
                                                          std::string_view message_id) {
  auto stmt = db_->prepare("SELECT role FROM chat_messages WHERE chat_id = ?1 AND id = ?2");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, chat_id), stmt->bind_text(2, message_id)}) {
    if (!bound) return tl::unexpected(bound.error());
  }
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return stmt->column_text(0);
}

Status ChatStore::insert_message(std::string_view chat_id, const StoredMessage& message, std::int64_t now) {
  // The next seq is computed inside the INSERT, under the transaction's write lock: no two appends share it.
  auto stmt = db_->prepare(
      "INSERT INTO chat_messages (chat_id, seq, id, role, parts, metadata, created_at) VALUES (?1, "
      "(SELECT coalesce(max(seq), 0) + 1 FROM chat_messages WHERE chat_id = ?1), ?2, ?3, ?4, ?5, ?6)");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, chat_id), stmt->bind_text(2, message.id),
                     stmt->bind_text(3, message.role), stmt->bind_text(4, message.parts_json),
                     message.metadata_json ? stmt->bind_text(5, *message.metadata_json) : stmt->bind_null(5),
                     stmt->bind_int64(6, now)}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Status ChatStore::replace_message(std::string_view chat_id, const StoredMessage& message) {
  auto stmt =
      db_->prepare("UPDATE chat_messages SET parts = ?1, metadata = ?2 WHERE chat_id = ?3 AND id = ?4");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, message.parts_json),
                     message.metadata_json ? stmt->bind_text(2, *message.metadata_json) : stmt->bind_null(2),
                     stmt->bind_text(3, chat_id), stmt->bind_text(4, message.id)}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Status ChatStore::touch_chat(std::string_view chat_id, std::int64_t now) {
  auto stmt = db_->prepare("UPDATE chats SET updated_at = ?1 WHERE id = ?2");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_int64(1, now), stmt->bind_text(2, chat_id)}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Status ChatStore::append_message(std::string_view user_id, std::string_view chat_id,
                                 const StoredMessage& message) {
  if (auto valid = check_chat_key(user_id, chat_id); !valid) return valid;
  if (auto valid = check_message(message); !valid) return valid;
  auto tx = Transaction::begin(*db_);
  if (!tx) return tl::unexpected(tx.error());
  if (auto owned = check_owner(user_id, chat_id); !owned) return owned;
  auto role = stored_role(chat_id, message.id);
  if (!role) return tl::unexpected(role.error());

  std::int64_t now = clock_();
  if (!*role) {
    if (auto inserted = insert_message(chat_id, message, now); !inserted) return inserted;
  } else if (**role != message.role) {
    return fail(ErrorCode::kConflict, fmt::format("message \"{}\" of chat \"{}\" is a {} message, not {}",
                                                  message.id, chat_id, **role, message.role));
  } else if (auto replaced = replace_message(chat_id, message); !replaced) {
    return replaced;
  }
  if (auto touched = touch_chat(chat_id, now); !touched) return touched;
  return tx->commit();
}

}  // namespace cellblock::store
