// envd access control (e2b-api.md §2.5): the X-Access-Token header and /files URL signatures. Expected
// signatures were computed independently with Python's hashlib and base64.

#include "agent/envd/access.h"

#include <gtest/gtest.h>

namespace cellblock::agent {
namespace {

constexpr const char* kToken = "envdtok";
constexpr const char* kUnauthorized =
    "unauthorized access, please provide a valid access token or method signing if supported";
constexpr std::int64_t kNow = 1'700'000'000;

http::Request make_request(std::string raw_query = "", std::optional<std::string> token = std::nullopt,
                           std::string header_name = "X-Access-Token") {
  http::Request request;
  request.method = "GET";
  request.path = "/files";
  request.raw_query = raw_query;
  request.target = "/files" + (raw_query.empty() ? "" : "?" + raw_query);
  auto query = http::parse_query(raw_query);
  EXPECT_TRUE(query) << raw_query;
  if (query) request.query = std::move(*query);
  if (token) request.headers.add(std::move(header_name), std::move(*token));
  return request;
}

void expect_unauthorized(const Status& status, std::string_view message = kUnauthorized) {
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(status.error().message, message);
}

// envd's own messages for /files (clients match on them).
constexpr const char* kMissingSignature = "missing signature query parameter";
constexpr const char* kInvalidSignature = "invalid signature";
constexpr const char* kExpired = "signature is already expired";
constexpr const char* kHeaderMismatch = "access token present in header but does not match";

TEST(FileSignature, SpecExample) {
  EXPECT_EQ(file_signature("/home/user/a.txt", "read", "", kToken, std::nullopt),
            "v1_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYY");
}

TEST(FileSignature, WithUserAndExpiration) {
  // sha256("/home/user/a.txt:write:user:envdtok:1700000000")
  EXPECT_EQ(file_signature("/home/user/a.txt", "write", "user", kToken, std::int64_t{1700000000}),
            "v1_Hvs43FkHofSLTYDJAWxnVMWWcVt6O0QnNTY1G0eneU4");
}

TEST(FileSignature, StandardAlphabetWithoutPadding) {
  // sha256("/home/user/dir with space/é.txt:read:root:envdtok"): a digest whose base64 holds '+' and '/'.
  const std::string signature =
      file_signature("/home/user/dir with space/\u00e9.txt", "read", "root", kToken, std::nullopt);
  EXPECT_EQ(signature, "v1_AVo3rIKkxrkXL+GExwk9erX/cGHhCSTSvw/g/Yhwooo");
  EXPECT_EQ(signature.find('='), std::string::npos);
}

TEST(FileSignature, EveryInputMatters) {
  const std::string base = file_signature("/a", "read", "", kToken, std::nullopt);
  EXPECT_NE(base, file_signature("/b", "read", "", kToken, std::nullopt));
  EXPECT_NE(base, file_signature("/a", "write", "", kToken, std::nullopt));
  EXPECT_NE(base, file_signature("/a", "read", "root", kToken, std::nullopt));
  EXPECT_NE(base, file_signature("/a", "read", "", "other", std::nullopt));
  EXPECT_NE(base, file_signature("/a", "read", "", kToken, std::int64_t{0}));
  EXPECT_EQ(base.size(), 3u + 43u);  // v1_ + 32 bytes in unpadded base64
}

TEST(AccessPolicy, WithoutTokenEverythingIsOpen) {
  AccessPolicy policy;
  EXPECT_TRUE(policy.check_token(make_request()));
  EXPECT_TRUE(policy.check_token(make_request("", "anything")));
  EXPECT_TRUE(policy.check_file_access(make_request("path=/etc/passwd"), "read", kNow));
  EXPECT_TRUE(policy.check_file_access(make_request("path=/x&signature=v1_bogus"), "write", kNow));
}

TEST(AccessPolicy, MissingTokenIsRejected) {
  AccessPolicy policy(kToken);
  expect_unauthorized(policy.check_token(make_request()));
}

TEST(AccessPolicy, WrongTokenIsRejected) {
  AccessPolicy policy(kToken);
  expect_unauthorized(policy.check_token(make_request("", "envdtoK")));
  expect_unauthorized(policy.check_token(make_request("", "envdto")));
  expect_unauthorized(policy.check_token(make_request("", "envdtok ")));
  expect_unauthorized(policy.check_token(make_request("", "")));
  // The token in another header does not count.
  expect_unauthorized(policy.check_token(make_request("", kToken, "Authorization")));
}

TEST(AccessPolicy, CorrectTokenPasses) {
  AccessPolicy policy(kToken);
  EXPECT_TRUE(policy.check_token(make_request("", kToken)));
  EXPECT_TRUE(policy.check_token(make_request("", kToken, "x-access-token")));  // header names ignore case
}

TEST(FileAccess, TokenHeaderSuffices) {
  AccessPolicy policy(kToken);
  EXPECT_TRUE(policy.check_file_access(make_request("path=/home/user/a.txt", kToken), "read", kNow));
  EXPECT_TRUE(policy.check_file_access(make_request("path=/home/user/a.txt", kToken), "write", kNow));
}

TEST(FileAccess, NeitherTokenNorSignature) {
  AccessPolicy policy(kToken);
  expect_unauthorized(policy.check_file_access(make_request("path=/home/user/a.txt"), "read", kNow),
                      kMissingSignature);
  expect_unauthorized(policy.check_file_access(make_request("path=/home/user/a.txt", "wrong"), "read", kNow),
                      kHeaderMismatch);
  // An empty header counts as none.
  expect_unauthorized(policy.check_file_access(make_request("path=/home/user/a.txt", ""), "read", kNow),
                      kMissingSignature);
}

TEST(FileAccess, ValidSignature) {
  AccessPolicy policy(kToken);
  // The spec example, with the path URL-encoded as URLSearchParams sends it.
  EXPECT_TRUE(policy.check_file_access(
      make_request("path=%2Fhome%2Fuser%2Fa.txt&signature=v1_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYY"),
      "read", kNow));
  // As envd, a wrong header is refused even beside a valid signature.
  expect_unauthorized(
      policy.check_file_access(
          make_request("path=/home/user/a.txt&signature=v1_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYY",
                       "nope"),
          "read", kNow),
      kHeaderMismatch);
}

TEST(FileAccess, SignatureIsBoundToOperationPathAndUser) {
  AccessPolicy policy(kToken);
  const std::string read_signature = "v1_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYY";
  expect_unauthorized(policy.check_file_access(
                          make_request("path=/home/user/a.txt&signature=" + read_signature), "write", kNow),
                      kInvalidSignature);
  expect_unauthorized(policy.check_file_access(
                          make_request("path=/home/user/b.txt&signature=" + read_signature), "read", kNow),
                      kInvalidSignature);
  expect_unauthorized(
      policy.check_file_access(
          make_request("path=/home/user/a.txt&username=root&signature=" + read_signature), "read", kNow),
      kInvalidSignature);
}

TEST(FileAccess, SignatureWithUsernameAndExpiration) {
  AccessPolicy policy(kToken);
  const std::string query =
      "path=%2Fhome%2Fuser%2Fa.txt&username=user&signature=v1_Hvs43FkHofSLTYDJAWxnVMWWcVt6O0QnNTY1G0eneU4"
      "&signature_expiration=1700000000";
  EXPECT_TRUE(policy.check_file_access(make_request(query), "write", 1'699'999'000));
  EXPECT_TRUE(
      policy.check_file_access(make_request(query), "write", 1'700'000'000));  // the last valid second
}

TEST(FileAccess, ExpiredSignature) {
  AccessPolicy policy(kToken);
  const std::string query =
      "path=/home/user/a.txt&username=user&signature=v1_Hvs43FkHofSLTYDJAWxnVMWWcVt6O0QnNTY1G0eneU4"
      "&signature_expiration=1700000000";
  expect_unauthorized(policy.check_file_access(make_request(query), "write", 1'700'000'001), kExpired);
  // A forged signature with a past expiration learns nothing about expiry: it is simply invalid.
  const std::string forged =
      "path=/home/user/a.txt&username=user&signature=v1_bogus&signature_expiration=1700000000";
  expect_unauthorized(policy.check_file_access(make_request(forged), "write", 1'700'000'001),
                      kInvalidSignature);
}

TEST(FileAccess, ExpirationIsPartOfTheSignature) {
  AccessPolicy policy(kToken);
  // Signed without expiration, but the URL claims one (or a later one): the signature does not match.
  expect_unauthorized(
      policy.check_file_access(
          make_request("path=/home/user/a.txt&signature=v1_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYY"
                       "&signature_expiration=1800000000"),
          "read", kNow),
      kInvalidSignature);
  expect_unauthorized(
      policy.check_file_access(
          make_request(
              "path=/home/user/a.txt&username=user&signature=v1_Hvs43FkHofSLTYDJAWxnVMWWcVt6O0QnNTY1G0eneU4"
              "&signature_expiration=1800000000"),
          "write", kNow),
      kInvalidSignature);
  // Signed with an expiration that the URL drops.
  expect_unauthorized(
      policy.check_file_access(
          make_request(
              "path=/home/user/a.txt&username=user&signature=v1_Hvs43FkHofSLTYDJAWxnVMWWcVt6O0QnNTY1G0eneU4"),
          "write", kNow),
      kInvalidSignature);
}

TEST(FileAccess, MalformedSignature) {
  AccessPolicy policy(kToken);
  for (const char* signature :
       {"", "v1_", "garbage", "v1_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYY=",
        "v2_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYY", "v1_RXoTfv8fZov6wEk3x1MtXvBzDRAir30QpELBhgDwaYy"}) {
    SCOPED_TRACE(signature);
    expect_unauthorized(
        policy.check_file_access(make_request(std::string("path=/home/user/a.txt&signature=") + signature),
                                 "read", kNow),
        kInvalidSignature);
  }
}

TEST(FileAccess, MalformedExpiration) {
  AccessPolicy policy(kToken);
  for (const char* expiration : {"abc", "17000000x", "", "1.5", "99999999999999999999999"}) {
    SCOPED_TRACE(expiration);
    auto status = policy.check_file_access(
        make_request(std::string("path=/a&signature=v1_x&signature_expiration=") + expiration), "read", kNow);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(SecureEquals, ComparesContentAndLength) {
  EXPECT_TRUE(secure_equals("", ""));
  EXPECT_TRUE(secure_equals("envdtok", "envdtok"));
  EXPECT_FALSE(secure_equals("envdtok", "envdtoK"));
  EXPECT_FALSE(secure_equals("envdtok", "Envdtok"));
  EXPECT_FALSE(secure_equals("envdtok", "envdto"));
  EXPECT_FALSE(secure_equals("envdto", "envdtok"));
  EXPECT_FALSE(secure_equals("", "x"));
  EXPECT_TRUE(secure_equals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(secure_equals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace cellblock::agent
