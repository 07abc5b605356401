// Chats and their messages against a real SQLite file: creation, ordering, the streaming rewrite of an
// assistant message, isolation between users, cascade delete, validation, persistence and the migration from
// schema 1.

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/api_key_store.h"
#include "store/chat_store.h"
#include "store/migrations.h"

namespace cellblock::store {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSecond = 1'000'000'000;

StoredMessage message(std::string id, std::string role, std::string parts_json,
                      std::optional<std::string> metadata_json = std::nullopt) {
  return StoredMessage{std::move(id), std::move(role), std::move(parts_json), std::move(metadata_json), 0};
}

std::string text_parts(const std::string& text) {
  return R"([{"type":"text","text":")" + text + R"("}])";
}

class ChatStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "store-chats-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "state.db").string();
    open();
  }
  void TearDown() override {
    close();
    fs::remove_all(dir_);
  }

  void open() {
    auto db = open_state_database(path_);
    ASSERT_TRUE(db) << db.error().message;
    db_.emplace(std::move(*db));
    chats_.emplace(*db_, [this] { return now_; });
  }
  void close() {
    chats_.reset();
    db_.reset();
  }

  void append(const std::string& user, const std::string& chat, const StoredMessage& m) {
    auto appended = chats_->append_message(user, chat, m);
    ASSERT_TRUE(appended) << appended.error().message;
  }

  // "id:role" of every message, in order.
  std::vector<std::string> history(const std::string& user, const std::string& chat) {
    auto stored = chats_->messages(user, chat);
    EXPECT_TRUE(stored) << stored.error().message;
    std::vector<std::string> out;
    if (stored) {
      for (const auto& m : *stored) out.push_back(m.id + ":" + m.role);
    }
    return out;
  }

  std::vector<std::string> listed_ids(const std::string& user, int limit = 100) {
    auto listed = chats_->list_chats(user, limit);
    EXPECT_TRUE(listed) << listed.error().message;
    std::vector<std::string> out;
    if (listed) {
      for (const auto& chat : *listed) out.push_back(chat.id);
    }
    return out;
  }

  std::int64_t message_rows() { return db_->query_int64("SELECT count(*) FROM chat_messages").value(); }

  fs::path dir_;
  std::string path_;
  std::int64_t now_ = 1'700'000'000'000'000'000;
  std::optional<Database> db_;
  std::optional<ChatStore> chats_;
};

TEST_F(ChatStoreTest, EnsureChatCreatesOnceAndKeepsTheFirstTitle) {
  auto created = chats_->ensure_chat("alice", "chat-1", "Plot a sine wave", "anthropic/claude");
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ(created->id, "chat-1");
  EXPECT_EQ(created->user_id, "alice");
  EXPECT_EQ(created->title, "Plot a sine wave");
  EXPECT_EQ(created->model, "anthropic/claude");
  EXPECT_EQ(created->created_at, now_);
  EXPECT_EQ(created->updated_at, now_);

  std::int64_t created_at = now_;
  now_ += kSecond;
  // A later turn: the title stays, an empty model keeps the stored one, a new model replaces it.
  auto again = chats_->ensure_chat("alice", "chat-1", "Another prompt", "");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->title, "Plot a sine wave");
  EXPECT_EQ(again->model, "anthropic/claude");
  EXPECT_EQ(again->created_at, created_at);
  auto switched = chats_->ensure_chat("alice", "chat-1", "", "openai/gpt");
  ASSERT_TRUE(switched);
  EXPECT_EQ(switched->model, "openai/gpt");

  auto fetched = chats_->get_chat("alice", "chat-1");
  ASSERT_TRUE(fetched) << fetched.error().message;
  EXPECT_EQ(fetched->title, "Plot a sine wave");
  EXPECT_EQ(fetched->model, "openai/gpt");
  EXPECT_EQ(fetched->created_at, created_at);
  EXPECT_EQ(db_->query_int64("SELECT count(*) FROM chats").value(), 1);

  auto missing = chats_->get_chat("alice", "chat-2");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(ChatStoreTest, TitlesAreTrimmedOnACharacterBoundary) {
  // 150 two-byte characters: a byte cut at 100 would split one; the cut is at 100 characters.
  std::string long_title;
  for (int i = 0; i < 150; ++i) long_title += "\xC3\xA9";  // é
  auto created = chats_->ensure_chat("alice", "c1", "  \n" + long_title + " \t", "");
  ASSERT_TRUE(created);
  EXPECT_EQ(created->title.size(), 200u);
  EXPECT_EQ(created->title, long_title.substr(0, 200));

  // A four-byte character straddling the limit is kept whole or not at all.
  std::string mixed = std::string(99, 'a') + "\xF0\x9F\x98\x80" + "tail";  // 99 + 😀 = 100 characters
  EXPECT_EQ(ChatStore::trim_title(mixed), std::string(99, 'a') + "\xF0\x9F\x98\x80");
  EXPECT_EQ(ChatStore::trim_title(std::string(100, 'x')), std::string(100, 'x'));
  EXPECT_EQ(ChatStore::trim_title("   "), "");

  ASSERT_TRUE(chats_->rename_chat("alice", "c1", " Renamed " + std::string(120, 'z')));
  EXPECT_EQ(chats_->get_chat("alice", "c1")->title, "Renamed " + std::string(92, 'z'));
}

TEST_F(ChatStoreTest, ListIsMostRecentlyUpdatedFirst) {
  for (const char* id : {"a", "b", "c"}) {
    ASSERT_TRUE(chats_->ensure_chat("alice", id, id, ""));
    now_ += kSecond;
  }
  EXPECT_EQ(listed_ids("alice"), (std::vector<std::string>{"c", "b", "a"}));

  append("alice", "a", message("m1", "user", text_parts("hi")));
  EXPECT_EQ(chats_->get_chat("alice", "a")->updated_at, now_);
  EXPECT_EQ(listed_ids("alice"), (std::vector<std::string>{"a", "c", "b"}));
  EXPECT_EQ(listed_ids("alice", 2), (std::vector<std::string>{"a", "c"}));

  // Renaming is not activity: the order stays.
  now_ += kSecond;
  ASSERT_TRUE(chats_->rename_chat("alice", "b", "renamed"));
  EXPECT_EQ(listed_ids("alice"), (std::vector<std::string>{"a", "c", "b"}));

  // Chats created within one clock tick still list in a fixed order (by id, descending).
  ASSERT_TRUE(chats_->ensure_chat("alice", "x", "", ""));
  ASSERT_TRUE(chats_->ensure_chat("alice", "y", "", ""));
  EXPECT_EQ(listed_ids("alice", 2), (std::vector<std::string>{"y", "x"}));

  EXPECT_TRUE(listed_ids("nobody").empty());
  for (int bad : {0, -1, ChatStore::kMaxListLimit + 1}) {
    auto listed = chats_->list_chats("alice", bad);
    ASSERT_FALSE(listed) << bad;
    EXPECT_EQ(listed.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(ChatStoreTest, MessagesComeBackInAppendOrderWithTheirFields) {
  ASSERT_TRUE(chats_->ensure_chat("alice", "c1", "t", ""));
  EXPECT_TRUE(chats_->messages("alice", "c1").value().empty());
  append("alice", "c1", message("s", "system", "[]"));
  now_ += kSecond;
  append("alice", "c1", message("u1", "user", text_parts("plot it"), R"({"client":"web"})"));
  now_ += kSecond;
  // Ids that would sort before the earlier ones: the order is the append order, not the id order.
  append("alice", "c1", message("a0", "assistant", text_parts("done")));

  auto stored = chats_->messages("alice", "c1");
  ASSERT_TRUE(stored) << stored.error().message;
  ASSERT_EQ(stored->size(), 3u);
  EXPECT_EQ((*stored)[0].id, "s");
  EXPECT_EQ((*stored)[0].role, "system");
  EXPECT_EQ((*stored)[0].parts_json, "[]");
  EXPECT_FALSE((*stored)[0].metadata_json);
  EXPECT_EQ((*stored)[1].id, "u1");
  EXPECT_EQ((*stored)[1].parts_json, text_parts("plot it"));
  EXPECT_EQ((*stored)[1].metadata_json, R"({"client":"web"})");
  EXPECT_EQ((*stored)[1].created_at, now_ - kSecond);
  EXPECT_EQ((*stored)[2].id, "a0");
  EXPECT_EQ((*stored)[2].role, "assistant");
  EXPECT_EQ((*stored)[2].created_at, now_);
}

TEST_F(ChatStoreTest, RewritingTheStreamedAssistantMessageKeepsItsPlaceAndTheUserMessage) {
  ASSERT_TRUE(chats_->ensure_chat("alice", "c1", "t", ""));
  append("alice", "c1", message("u1", "user", text_parts("plot a sine")));
  now_ += kSecond;
  std::int64_t assistant_created = now_;
  append("alice", "c1", message("a1", "assistant", text_parts("Here")));
  for (const char* partial : {"Here is", "Here is the plot"}) {
    now_ += kSecond;
    append("alice", "c1", message("a1", "assistant", text_parts(partial), R"({"finishReason":"stop"})"));
  }
  EXPECT_EQ(chats_->get_chat("alice", "c1")->updated_at, now_) << "every rewrite is activity";
  now_ += kSecond;
  append("alice", "c1", message("u2", "user", text_parts("now a cosine")));

  EXPECT_EQ(history("alice", "c1"), (std::vector<std::string>{"u1:user", "a1:assistant", "u2:user"}));
  auto stored = chats_->messages("alice", "c1").value();
  EXPECT_EQ(stored[0].parts_json, text_parts("plot a sine"));
  EXPECT_EQ(stored[1].parts_json, text_parts("Here is the plot"));
  EXPECT_EQ(stored[1].metadata_json, R"({"finishReason":"stop"})");
  EXPECT_EQ(stored[1].created_at, assistant_created);

  // A rewrite may also drop the metadata.
  append("alice", "c1", message("a1", "assistant", text_parts("Here is the plot")));
  EXPECT_FALSE(chats_->messages("alice", "c1").value()[1].metadata_json);

  // An assistant message that reuses the user message's id must not overwrite it.
  auto collision = chats_->append_message("alice", "c1", message("u1", "assistant", text_parts("oops")));
  ASSERT_FALSE(collision);
  EXPECT_EQ(collision.error().code, ErrorCode::kConflict);
  EXPECT_EQ(chats_->messages("alice", "c1").value()[0].parts_json, text_parts("plot a sine"));
  EXPECT_EQ(message_rows(), 3);
}

TEST_F(ChatStoreTest, AnotherUsersChatDoesNotExist) {
  ASSERT_TRUE(chats_->ensure_chat("alice", "secret", "Alice's plans", "anthropic/claude"));
  append("alice", "secret", message("u1", "user", text_parts("private")));

  auto expect_not_found = [](const auto& result, const char* what) {
    ASSERT_FALSE(result) << what;
    EXPECT_EQ(result.error().code, ErrorCode::kNotFound) << what;
    EXPECT_EQ(result.error().message.find("Alice"), std::string::npos) << what;
  };
  expect_not_found(chats_->ensure_chat("bob", "secret", "mine now", "openai/gpt"), "ensure");
  expect_not_found(chats_->get_chat("bob", "secret"), "get");
  expect_not_found(chats_->messages("bob", "secret"), "messages");
  expect_not_found(chats_->append_message("bob", "secret", message("b1", "user", text_parts("x"))), "append");
  expect_not_found(chats_->append_message("bob", "secret", message("u1", "user", text_parts("x"))),
                   "rewrite");
  expect_not_found(chats_->rename_chat("bob", "secret", "pwned"), "rename");
  expect_not_found(chats_->delete_chat("bob", "secret"), "delete");
  EXPECT_TRUE(listed_ids("bob").empty());

  auto intact = chats_->get_chat("alice", "secret");
  ASSERT_TRUE(intact);
  EXPECT_EQ(intact->title, "Alice's plans");
  EXPECT_EQ(intact->model, "anthropic/claude");
  EXPECT_EQ(history("alice", "secret"), (std::vector<std::string>{"u1:user"}));
  EXPECT_EQ(chats_->messages("alice", "secret").value()[0].parts_json, text_parts("private"));
}

TEST_F(ChatStoreTest, DeleteRemovesTheChatAndItsMessages) {
  ASSERT_TRUE(chats_->ensure_chat("alice", "gone", "t", ""));
  ASSERT_TRUE(chats_->ensure_chat("alice", "kept", "t", ""));
  for (const char* id : {"u1", "a1", "u2"}) {
    append("alice", "gone", message(id, id[0] == 'u' ? "user" : "assistant", "[]"));
  }
  append("alice", "kept", message("u1", "user", "[]"));
  ASSERT_EQ(message_rows(), 4);

  ASSERT_TRUE(chats_->delete_chat("alice", "gone"));
  EXPECT_EQ(message_rows(), 1) << "the cascade must remove the deleted chat's messages only";
  EXPECT_EQ(listed_ids("alice"), (std::vector<std::string>{"kept"}));
  for (const auto& again : {chats_->delete_chat("alice", "gone"), chats_->delete_chat("alice", "never")}) {
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
  }
  auto messages = chats_->messages("alice", "gone");
  ASSERT_FALSE(messages);
  EXPECT_EQ(messages.error().code, ErrorCode::kNotFound);

  // The id is free again, and a new chat under it starts empty.
  ASSERT_TRUE(chats_->ensure_chat("alice", "gone", "fresh", ""));
  EXPECT_TRUE(history("alice", "gone").empty());
}

TEST_F(ChatStoreTest, InvalidIdsRolesAndPartsAreRejected) {
  ASSERT_TRUE(chats_->ensure_chat("alice", "c1", "t", ""));
  EXPECT_TRUE(chats_->ensure_chat("alice", std::string(128, 'A'), "t", ""));
  EXPECT_TRUE(chats_->ensure_chat("alice", "Az09_-", "t", ""));

  for (const std::string& bad_id :
       {std::string(), std::string(129, 'a'), std::string("a b"), std::string("a/b"), std::string("../x"),
        std::string("caf\xC3\xA9"), std::string("a\nb"), std::string("id.json"), std::string("a\0b", 3)}) {
    auto ensured = chats_->ensure_chat("alice", bad_id, "t", "");
    ASSERT_FALSE(ensured) << bad_id;
    EXPECT_EQ(ensured.error().code, ErrorCode::kInvalidArgument) << bad_id;
    auto fetched = chats_->get_chat("alice", bad_id);
    ASSERT_FALSE(fetched) << bad_id;
    EXPECT_EQ(fetched.error().code, ErrorCode::kInvalidArgument);
    auto appended = chats_->append_message("alice", "c1", message(bad_id, "user", "[]"));
    ASSERT_FALSE(appended) << bad_id;
    EXPECT_EQ(appended.error().code, ErrorCode::kInvalidArgument) << bad_id;
  }
  EXPECT_EQ(chats_->ensure_chat("", "c2", "t", "").error().code, ErrorCode::kInvalidArgument);

  std::vector<StoredMessage> bad_messages = {
      message("m", "tool", "[]"),
      message("m", "", "[]"),
      message("m", "user", ""),
      message("m", "user", "{}"),
      message("m", "user", R"("text")"),
      message("m", "user", "null"),
      message("m", "user", R"([{"type":"text")"),
      message("m", "user", "[] []"),
      message("m", "user", "[]", ""),
      message("m", "user", "[]", "{not json}"),
  };
  for (const auto& bad : bad_messages) {
    auto appended = chats_->append_message("alice", "c1", bad);
    ASSERT_FALSE(appended) << bad.role << " " << bad.parts_json;
    EXPECT_EQ(appended.error().code, ErrorCode::kInvalidArgument) << bad.role << " " << bad.parts_json;
  }
  EXPECT_EQ(message_rows(), 0);

  // Any JSON value is acceptable metadata.
  append("alice", "c1", message("m", "user", "[]", "42"));
}

TEST_F(ChatStoreTest, ChatsSurviveReopeningTheDatabase) {
  ASSERT_TRUE(chats_->ensure_chat("alice", "c1", "kept", "anthropic/claude"));
  append("alice", "c1", message("u1", "user", text_parts("first")));
  append("alice", "c1", message("a1", "assistant", text_parts("answer"), R"({"k":1})"));
  close();
  open();
  auto chat = chats_->get_chat("alice", "c1");
  ASSERT_TRUE(chat) << chat.error().message;
  EXPECT_EQ(chat->title, "kept");
  EXPECT_EQ(chat->model, "anthropic/claude");
  EXPECT_EQ(history("alice", "c1"), (std::vector<std::string>{"u1:user", "a1:assistant"}));
  EXPECT_EQ(chats_->messages("alice", "c1").value()[1].metadata_json, R"({"k":1})");
  // Appending after the reopen continues the sequence.
  append("alice", "c1", message("u2", "user", text_parts("second")));
  EXPECT_EQ(history("alice", "c1"), (std::vector<std::string>{"u1:user", "a1:assistant", "u2:user"}));
}

// The first migration exactly as shipped: read from migrations.cpp rather than copied, since it is never
// edited.
std::string first_migration_sql() {
  std::ifstream in(std::string(CELLBLOCK_SOURCE_DIR) + "/src/store/migrations.cpp");
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string open = "R\"sql(";
  auto begin = source.find(open);
  auto end = source.find(")sql\"", begin);
  if (begin == std::string::npos || end == std::string::npos) return {};
  begin += open.size();
  return source.substr(begin, end - begin);
}

TEST_F(ChatStoreTest, MigratesADatabaseCreatedAtSchemaVersion1) {
  close();
  fs::remove(path_);
  fs::remove(path_ + "-wal");
  fs::remove(path_ + "-shm");
  std::string api_key;
  {
    auto db = Database::open(path_);
    ASSERT_TRUE(db) << db.error().message;
    std::string v1 = first_migration_sql();
    ASSERT_NE(v1.find("CREATE TABLE api_keys"), std::string::npos) << "migrations.cpp changed shape";
    ASSERT_TRUE(db->exec(v1));
    ASSERT_TRUE(db->exec("PRAGMA user_version = 1"));
    ASSERT_FALSE(db->prepare("SELECT 1 FROM chats")) << "not a version 1 database";
    ApiKeyStore keys(*db);
    auto created = keys.create("from v1");
    ASSERT_TRUE(created);
    api_key = created->key;
  }

  open();
  EXPECT_EQ(db_->query_int64("PRAGMA user_version").value(), schema_version());
  for (const char* table : {"chats", "chat_messages", "web_sessions"}) {
    auto stmt = db_->prepare("SELECT strict FROM pragma_table_list WHERE name = ?1");
    ASSERT_TRUE(stmt);
    ASSERT_TRUE(stmt->bind_text(1, table));
    ASSERT_TRUE(stmt->step().value()) << table;
    EXPECT_EQ(stmt->column_int64(0), 1) << table << " is not STRICT";
  }
  ApiKeyStore keys(*db_);
  EXPECT_TRUE(keys.verify(api_key)) << "version 1 rows must survive the migration";
  ASSERT_TRUE(chats_->ensure_chat("alice", "c1", "after migration", ""));
  append("alice", "c1", message("u1", "user", "[]"));
  ASSERT_TRUE(chats_->delete_chat("alice", "c1"));
  EXPECT_EQ(message_rows(), 0);
}

}  // namespace
}  // namespace cellblock::store
