#pragma once
// Conversations of the artifacts app: one row per chat and its messages in order. The browser chooses chat
// ids and the server message ids, so both are validated here. A chat belongs to one user; to every other user
// it does not exist (kNotFound, never kPermissionDenied, so ids cannot be probed). Not thread-safe: use it
// from the thread that owns the Database.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "store/clock.h"
#include "store/sqlite.h"

namespace cellblock::store {

struct ChatSummary {
  std::string id;
  std::string user_id;
  std::string title;
  std::string model;            // "<provider>/<model>" of the latest turn; empty: not chosen yet
  std::int64_t created_at = 0;  // unix ns
  std::int64_t updated_at = 0;  // unix ns: the last append
};

// One AI SDK UIMessage as stored: `parts_json` is its `parts` array and `metadata_json` its `metadata`, both
// kept as JSON text the store does not interpret beyond checking their shape.
struct StoredMessage {
  std::string id;
  std::string role;  // "user", "assistant" or "system"
  std::string parts_json;
  std::optional<std::string> metadata_json;
  std::int64_t created_at = 0;  // unix ns, stamped by the store at the first append
};

class ChatStore {
 public:
  static constexpr int kMaxListLimit = 500;
  static constexpr std::size_t kMaxIdLength = 128;
  static constexpr std::size_t kMaxTitleChars = 100;

  // `db` must be migrated and outlive the store. `clock` stamps created_at and updated_at.
  explicit ChatStore(Database& db, Clock clock = unix_nanos_now);

  // The user's chat `chat_id`, created with `title` when missing (the title of an existing chat is kept).
  // A non-empty `model` that differs from the stored one replaces it. kNotFound when another user owns the
  // id.
  Result<ChatSummary> ensure_chat(std::string_view user_id, std::string_view chat_id, std::string_view title,
                                  std::string_view model);
  Result<ChatSummary> get_chat(std::string_view user_id, std::string_view chat_id);
  // The user's chats, most recently updated first; kInvalidArgument unless 1 <= limit <= kMaxListLimit.
  Result<std::vector<ChatSummary>> list_chats(std::string_view user_id, int limit);
  // Deletes the chat with its messages.
  Status delete_chat(std::string_view user_id, std::string_view chat_id);
  // Does not move the chat in the listing: only new messages do.
  Status rename_chat(std::string_view user_id, std::string_view chat_id, std::string_view title);

  // The chat's messages in the order they were first appended.
  Result<std::vector<StoredMessage>> messages(std::string_view user_id, std::string_view chat_id);
  // Appends `message` at the end of the chat and bumps its updated_at. A message whose id the chat already
  // holds is rewritten in place (parts and metadata; position and created_at stay): the server stores the
  // assistant message again as it streams. Rewriting a message under another role is refused (kConflict), so
  // a colliding id can never overwrite the user's own words. kInvalidArgument for a bad id, an unknown role,
  // parts that are not a JSON array or metadata that is not JSON; `message.created_at` is ignored.
  Status append_message(std::string_view user_id, std::string_view chat_id, const StoredMessage& message);

  // 1..kMaxIdLength characters of [A-Za-z0-9_-]: safe in URLs, logs and file names without escaping.
  static bool valid_id(std::string_view id);
  // Surrounding whitespace removed, then cut to kMaxTitleChars characters, never inside a UTF-8 sequence.
  static std::string trim_title(std::string_view title);

 private:
  // The chat with this id whoever owns it; nullopt when there is none.
  Result<std::optional<ChatSummary>> find_chat(std::string_view chat_id);
  Status insert_chat(const ChatSummary& chat);
  Status update_model(std::string_view chat_id, std::string_view model);
  // kNotFound unless the user owns the chat.
  Status check_owner(std::string_view user_id, std::string_view chat_id);
  // The role of the chat's message `message_id`; nullopt when the chat has no such message.
  Result<std::optional<std::string>> stored_role(std::string_view chat_id, std::string_view message_id);
  Status insert_message(std::string_view chat_id, const StoredMessage& message, std::int64_t now);
  Status replace_message(std::string_view chat_id, const StoredMessage& message);
  Status touch_chat(std::string_view chat_id, std::int64_t now);

  Database* db_;
  Clock clock_;
};

}  // namespace cellblock::store
