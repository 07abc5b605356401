// Who may use the app: the login token or an API key buys a session cookie; cookies are parsed strictly and a
// cross-site request carrying one is refused.

#include <optional>

#include <gtest/gtest.h>

#include "app/auth.h"
#include "store_test_support.h"

namespace cellblock::app {
namespace {

http::Request request_with(std::initializer_list<std::pair<std::string, std::string>> headers) {
  http::Request request;
  request.method = "GET";
  request.path = "/api/session";
  for (const auto& [name, value] : headers) request.headers.add(name, value);
  return request;
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = temp_.open();
    ASSERT_TRUE(db) << db.error().message;
    db_.emplace(std::move(*db));
    sessions_.emplace(*db_);
    keys_.emplace(*db_);
    auth_.emplace(*sessions_, *keys_, "login-token-0123456789");
  }
  // The session token inside a Set-Cookie value.
  static std::string token_of(const std::string& set_cookie) {
    auto start = set_cookie.find('=') + 1;
    return set_cookie.substr(start, set_cookie.find(';') - start);
  }

  store::testing::TempStateDb temp_{"app-auth"};  // declared first: the directory outlives the database
  std::optional<store::Database> db_;
  std::optional<store::SessionStore> sessions_;
  std::optional<store::ApiKeyStore> keys_;
  std::optional<Auth> auth_;
};

TEST_F(AuthTest, TheLoginTokenBuysAStrictHttpOnlySession) {
  auto cookie = auth_->login("login-token-0123456789", false);
  ASSERT_TRUE(cookie) << cookie.error().message;
  EXPECT_TRUE(cookie->starts_with("cellblock_session="));
  EXPECT_NE(cookie->find("; HttpOnly"), std::string::npos);
  EXPECT_NE(cookie->find("; SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie->find("Secure"), std::string::npos);
  EXPECT_NE(auth_->login("login-token-0123456789", true)->find("; Secure"), std::string::npos);

  auto who =
      auth_->authenticate(request_with({{"Cookie", "theme=dark; cellblock_session=" + token_of(*cookie)}}));
  ASSERT_TRUE(who) << who.error().message;
  EXPECT_EQ(who->user, "local");
  EXPECT_FALSE(who->by_api_key);
}

TEST_F(AuthTest, WrongTokensAndMissingCookiesAreRefused) {
  EXPECT_EQ(auth_->login("login-token-012345678", false).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth_->login("", false).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(auth_->authenticate(request_with({})).error().code, ErrorCode::kUnauthenticated);
  auto forged = request_with({{"Cookie", "cellblock_session=" + std::string(64, 'a')}});
  EXPECT_EQ(auth_->authenticate(forged).error().code, ErrorCode::kUnauthenticated);
  // A cookie whose name merely ends like ours is not ours.
  auto cookie = auth_->login("login-token-0123456789", false);
  auto lookalike = request_with({{"Cookie", "x_cellblock_session=" + token_of(*cookie)}});
  EXPECT_EQ(auth_->authenticate(lookalike).error().code, ErrorCode::kUnauthenticated);
}

TEST_F(AuthTest, ACrossSiteRequestWithTheCookieIsRefused) {
  auto cookie = auth_->login("login-token-0123456789", false);
  std::string value = "cellblock_session=" + token_of(*cookie);
  auto same =
      request_with({{"Cookie", value}, {"Host", "127.0.0.1:3000"}, {"Origin", "http://127.0.0.1:3000"}});
  EXPECT_TRUE(auth_->authenticate(same));
  auto foreign =
      request_with({{"Cookie", value}, {"Host", "127.0.0.1:3000"}, {"Origin", "https://evil.example"}});
  EXPECT_EQ(auth_->authenticate(foreign).error().code, ErrorCode::kPermissionDenied);
  auto opaque = request_with({{"Cookie", value}, {"Host", "127.0.0.1:3000"}, {"Origin", "null"}});
  EXPECT_EQ(auth_->authenticate(opaque).error().code, ErrorCode::kPermissionDenied);
}

TEST_F(AuthTest, AnApiKeyWorksForScriptsAndForLoggingIn) {
  auto key = keys_->create("script");
  ASSERT_TRUE(key);
  auto who = auth_->authenticate(request_with({{"X-API-KEY", key->key}}));
  ASSERT_TRUE(who);
  EXPECT_TRUE(who->by_api_key);
  EXPECT_TRUE(auth_->login(key->key, false));
  EXPECT_EQ(auth_->authenticate(request_with({{"X-API-KEY", "e2b_" + std::string(40, '0')}})).error().code,
            ErrorCode::kUnauthenticated);
}

TEST_F(AuthTest, LogoutEndsTheSession) {
  auto cookie = auth_->login("login-token-0123456789", false);
  auto request = request_with({{"Cookie", "cellblock_session=" + token_of(*cookie)}});
  EXPECT_NE(auth_->logout(request).find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(auth_->authenticate(request).error().code, ErrorCode::kUnauthenticated);
}

}  // namespace
}  // namespace cellblock::app
