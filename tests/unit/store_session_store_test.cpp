// Web sessions against a real SQLite file: only hashes are stored; verify, expiry, revoke and purge behave.

#include <cctype>
#include <chrono>
#include <limits>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "store/migrations.h"
#include "store/session_store.h"
#include "store_test_support.h"

namespace cellblock::store {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kMinute = 60 * kSecond;
constexpr seconds kHour{3600};

class SessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = temp_.open();
    ASSERT_TRUE(db) << db.error().message;
    db_.emplace(std::move(*db));
    sessions_.emplace(*db_, [this] { return now_; });
  }
  void TearDown() override {
    sessions_.reset();
    db_.reset();
  }

  std::string create(const std::string& user, seconds lifetime = kHour) {
    auto token = sessions_->create(user, lifetime);
    EXPECT_TRUE(token) << token.error().message;
    return token.value_or("");
  }

  void expect_rejected(const std::string& token) {
    auto user = sessions_->verify(token);
    ASSERT_FALSE(user) << "accepted: " << token;
    EXPECT_EQ(user.error().code, ErrorCode::kUnauthenticated) << token;
  }

  std::int64_t last_seen_at() { return db_->query_int64("SELECT last_seen_at FROM web_sessions").value(); }
  std::int64_t rows() { return db_->query_int64("SELECT count(*) FROM web_sessions").value(); }

  testing::TempStateDb temp_{"store-sessions"};  // declared first: the directory outlives the database
  std::int64_t now_ = 1'700'000'000'000'000'000;
  std::optional<Database> db_;
  std::optional<SessionStore> sessions_;
};

TEST_F(SessionStoreTest, CreateReturnsAFreshTokenThatVerifiesToItsUser) {
  std::string alice = create("alice");
  std::string bob = create("bob");
  const std::regex shape("^[0-9a-f]{64}$");
  EXPECT_TRUE(std::regex_match(alice, shape)) << alice;
  EXPECT_TRUE(std::regex_match(bob, shape)) << bob;
  EXPECT_NE(alice, bob);
  EXPECT_TRUE(SessionStore::well_formed(alice));
  EXPECT_EQ(sessions_->verify(alice).value(), "alice");
  EXPECT_EQ(sessions_->verify(bob).value(), "bob");
}

TEST_F(SessionStoreTest, TheTokenIsNeverWrittenToDisk) {
  std::string token = create("alice");
  ASSERT_TRUE(sessions_->verify(token));
  std::string bytes = temp_.disk_bytes();
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(bytes.find(token), std::string::npos);
  EXPECT_EQ(bytes.find(token.substr(0, 32)), std::string::npos) << "half of the token leaked";
  // The user id is stored on purpose, so the check above is not vacuous.
  EXPECT_NE(bytes.find("alice"), std::string::npos);
}

TEST_F(SessionStoreTest, VerifyRejectsWrongAndMalformedTokens) {
  std::string token = create("alice");
  std::string other = token;
  other.back() = other.back() == '0' ? '1' : '0';
  std::string upper = token;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const std::string& bad : {other, std::string(), token.substr(1), token + "0", " " + token.substr(1),
                                 token.substr(0, 63) + "g", std::string(64, 'z'), std::string(300, 'a')}) {
    expect_rejected(bad);
  }
  if (upper != token) expect_rejected(upper);
  EXPECT_EQ(sessions_->verify(token).value(), "alice");
}

TEST_F(SessionStoreTest, SessionsExpireAtTheirLifetime) {
  std::string token = create("alice", kHour);
  now_ += 3600 * kSecond - 1;
  EXPECT_EQ(sessions_->verify(token).value(), "alice");
  now_ += 1;
  expect_rejected(token);
  // Use does not extend a session: no sliding expiry.
  std::string second = create("alice", seconds(120));
  now_ += 119 * kSecond;
  ASSERT_TRUE(sessions_->verify(second));
  now_ += kSecond;
  expect_rejected(second);
}

TEST_F(SessionStoreTest, LastSeenIsStampedAtMostOnceAMinute) {
  std::string token = create("alice");
  std::int64_t created = now_;
  EXPECT_EQ(last_seen_at(), created);
  now_ += kMinute - 1;
  ASSERT_TRUE(sessions_->verify(token));
  EXPECT_EQ(last_seen_at(), created);
  now_ += 1;
  ASSERT_TRUE(sessions_->verify(token));
  EXPECT_EQ(last_seen_at(), now_);
}

TEST_F(SessionStoreTest, RevokeEndsOnlyThatSession) {
  std::string first = create("alice");
  std::string second = create("alice");
  ASSERT_TRUE(sessions_->revoke(first));
  expect_rejected(first);
  EXPECT_EQ(sessions_->verify(second).value(), "alice");
  // Logging out twice, or with a stale or garbage cookie, is not an error.
  EXPECT_TRUE(sessions_->revoke(first));
  EXPECT_TRUE(sessions_->revoke("not-a-token"));
  EXPECT_TRUE(sessions_->revoke(""));
  EXPECT_EQ(rows(), 1);
}

TEST_F(SessionStoreTest, PurgeDeletesOnlyExpiredSessions) {
  std::string short_lived = create("alice", seconds(60));
  std::string long_lived = create("bob", kHour);
  EXPECT_EQ(sessions_->purge_expired().value(), 0);
  now_ += kMinute;
  EXPECT_EQ(sessions_->purge_expired().value(), 1);
  EXPECT_EQ(rows(), 1);
  EXPECT_EQ(sessions_->verify(long_lived).value(), "bob");
  expect_rejected(short_lived);
  EXPECT_EQ(sessions_->purge_expired().value(), 0);
}

TEST_F(SessionStoreTest, CreateRejectsBadArguments) {
  for (auto lifetime : {seconds(0), seconds(-1), seconds(std::numeric_limits<seconds::rep>::max()),
                        seconds(400LL * 365 * 24 * 3600)}) {
    auto token = sessions_->create("alice", lifetime);
    ASSERT_FALSE(token) << lifetime.count();
    EXPECT_EQ(token.error().code, ErrorCode::kInvalidArgument) << lifetime.count();
  }
  auto anonymous = sessions_->create("", kHour);
  ASSERT_FALSE(anonymous);
  EXPECT_EQ(anonymous.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(rows(), 0);
}

TEST_F(SessionStoreTest, SessionsSurviveReopen) {
  std::string token = create("alice");
  sessions_.reset();
  db_.reset();
  auto db = temp_.open();
  ASSERT_TRUE(db) << db.error().message;
  SessionStore reopened(*db, [this] { return now_; });
  EXPECT_EQ(reopened.verify(token).value(), "alice");
}

}  // namespace
}  // namespace cellblock::store
