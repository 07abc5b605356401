// API keys against a real SQLite file: only hashes are stored, verify/revoke/list/seed behave.

#include <algorithm>

#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "store/api_key_store.h"
#include "store/migrations.h"
#include "store_test_support.h"

namespace cellblock::store {
namespace {

constexpr std::int64_t kMinute = 60'000'000'000;

class ApiKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = temp_.open();
    ASSERT_TRUE(db) << db.error().message;
    db_.emplace(std::move(*db));
    keys_.emplace(*db_, [this] { return now_; });
  }
  void TearDown() override {
    keys_.reset();
    db_.reset();
  }

  testing::TempStateDb temp_{"store-keys"};  // declared first: the directory outlives the database
  std::int64_t now_ = 1'700'000'000'000'000'000;
  std::optional<Database> db_;
  std::optional<ApiKeyStore> keys_;
};

TEST_F(ApiKeyStoreTest, CreateReturnsAFreshKeyOfTheE2bShape) {
  auto a = keys_->create("laptop");
  auto b = keys_->create("ci");
  ASSERT_TRUE(a) << a.error().message;
  ASSERT_TRUE(b);
  const std::regex shape("^e2b_[0-9a-f]{40}$");
  EXPECT_TRUE(std::regex_match(a->key, shape)) << a->key;
  EXPECT_TRUE(std::regex_match(b->key, shape)) << b->key;
  EXPECT_NE(a->key, b->key);
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(keys_->count_active().value(), 2);
}

TEST_F(ApiKeyStoreTest, ThePlaintextIsNeverWrittenToDisk) {
  auto created = keys_->create("secret");
  ASSERT_TRUE(created);
  ASSERT_TRUE(keys_->verify(created->key));
  ASSERT_TRUE(keys_->seed("operator-supplied-key-0123456789"));
  std::string bytes = temp_.disk_bytes();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(created->key), std::string::npos);
  EXPECT_EQ(bytes.find(created->key.substr(4)), std::string::npos) << "the hex part alone leaked";
  EXPECT_EQ(bytes.find("operator-supplied-key-0123456789"), std::string::npos);
  // The display prefix is stored on purpose, so the bytes check above is not vacuous.
  EXPECT_NE(bytes.find(created->key.substr(4, 8)), std::string::npos);
}

TEST_F(ApiKeyStoreTest, VerifyAcceptsKnownKeysAndStampsLastUse) {
  auto created = keys_->create("laptop");
  ASSERT_TRUE(created);
  auto info = keys_->verify(created->key);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->id, created->id);
  EXPECT_EQ(info->name, "laptop");
  EXPECT_EQ(info->prefix, created->key.substr(4, 8));
  EXPECT_EQ(info->created_at, now_);
  EXPECT_EQ(info->last_used_at, now_);
  EXPECT_FALSE(info->revoked_at);

  // Within a minute the stamp stays; after a minute it moves.
  std::int64_t first_use = now_;
  now_ += kMinute - 1;
  ASSERT_TRUE(keys_->verify(created->key));
  EXPECT_EQ(keys_->list().value().at(0).last_used_at, first_use);
  now_ += 1;
  ASSERT_TRUE(keys_->verify(created->key));
  EXPECT_EQ(keys_->list().value().at(0).last_used_at, now_);
}

TEST_F(ApiKeyStoreTest, VerifyRejectsUnknownAndMalformedKeys) {
  auto created = keys_->create("laptop");
  ASSERT_TRUE(created);
  std::string other = created->key;
  other.back() = other.back() == '0' ? '1' : '0';
  for (const std::string& key :
       {other, std::string(), std::string("e2b_"), std::string("e2b_short"), created->key + " ",
        " " + created->key, std::string(300, 'a'), "e2b_" + std::string(39, 'a') + "\n"}) {
    auto info = keys_->verify(key);
    ASSERT_FALSE(info) << "accepted: " << key;
    EXPECT_EQ(info.error().code, ErrorCode::kUnauthenticated) << key;
  }
  EXPECT_TRUE(keys_->verify(created->key));
}

TEST_F(ApiKeyStoreTest, RevokeByIdOrPrefix) {
  auto a = keys_->create("a");
  auto b = keys_->create("b");
  ASSERT_TRUE(a && b);
  now_ += 5;
  ASSERT_TRUE(keys_->revoke(a->id));
  auto rejected = keys_->verify(a->key);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(keys_->verify(b->key));
  EXPECT_EQ(keys_->count_active().value(), 1);
  EXPECT_TRUE(keys_->revoke(a->id)) << "revoking twice is not an error";

  ASSERT_TRUE(keys_->revoke(b->key.substr(4, 8)));
  EXPECT_FALSE(keys_->verify(b->key));
  EXPECT_EQ(keys_->count_active().value(), 0);

  auto unknown = keys_->revoke("nothing-like-this");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(ApiKeyStoreTest, AnAmbiguousPrefixIsRefused) {
  // Two seeded keys that share their display prefix.
  ASSERT_TRUE(keys_->seed("e2b_deadbeef" + std::string(32, '1')).value());
  ASSERT_TRUE(keys_->seed("e2b_deadbeef" + std::string(32, '2')).value());
  auto ambiguous = keys_->revoke("deadbeef");
  ASSERT_FALSE(ambiguous);
  EXPECT_EQ(ambiguous.error().code, ErrorCode::kConflict);
  EXPECT_EQ(keys_->count_active().value(), 2);
}

TEST_F(ApiKeyStoreTest, ListShowsEveryKeyWithItsState) {
  auto a = keys_->create("first");
  now_ += 1;
  auto b = keys_->create("second");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(keys_->revoke(a->id));
  auto list = keys_->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, a->id);
  EXPECT_EQ((*list)[0].name, "first");
  EXPECT_EQ((*list)[0].revoked_at, now_);
  EXPECT_EQ((*list)[1].id, b->id);
  EXPECT_FALSE((*list)[1].revoked_at);
  EXPECT_FALSE((*list)[1].last_used_at);
}

TEST_F(ApiKeyStoreTest, SeedInsertsOnceAndKeepsRevocations) {
  const std::string key = "e2b_" + std::string(40, 'c');
  EXPECT_TRUE(keys_->seed(key).value());
  EXPECT_FALSE(keys_->seed(key).value());
  EXPECT_EQ(keys_->count_active().value(), 1);
  auto info = keys_->verify(key);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->prefix, "cccccccc");
  EXPECT_EQ(info->name, "CELLBLOCK_API_KEY");

  ASSERT_TRUE(keys_->revoke(info->id));
  EXPECT_FALSE(keys_->seed(key).value()) << "a revoked seed must not come back on restart";
  EXPECT_FALSE(keys_->verify(key));

  // Any plausible operator key works, not only the e2b_ shape.
  EXPECT_TRUE(keys_->seed("my-own-long-api-key-123", "ops").value());
  EXPECT_TRUE(keys_->verify("my-own-long-api-key-123"));
  // Found by name: two keys made within one clock tick have no defined order.
  const auto listed = keys_->list().value();
  auto ops = std::find_if(listed.begin(), listed.end(), [](const auto& k) { return k.name == "ops"; });
  ASSERT_NE(ops, listed.end());
  EXPECT_EQ(ops->prefix, "my-own-l");

  for (const std::string bad : {"", "too-short", "has a space in the key!!", "tab\tinside-the-key-xxxxx"}) {
    auto seeded = keys_->seed(bad);
    ASSERT_FALSE(seeded) << bad;
    EXPECT_EQ(seeded.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST_F(ApiKeyStoreTest, KeysSurviveReopen) {
  auto created = keys_->create("persisted");
  ASSERT_TRUE(created);
  keys_.reset();
  db_.reset();
  auto db = temp_.open();
  ASSERT_TRUE(db);
  ApiKeyStore reopened(*db);
  auto info = reopened.verify(created->key);
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->id, created->id);
}

}  // namespace
}  // namespace cellblock::store
