// The Beast-free exchange helpers: query parsing, case-insensitive headers and E2B's error body
// (e2b-api.md §3.2, §4.4).

#include "http/exchange.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace cellblock::http {
namespace {

namespace json = boost::json;
using Pairs = std::vector<std::pair<std::string, std::string>>;

Pairs parsed(std::string_view raw) {
  auto result = parse_query(raw);
  EXPECT_TRUE(result) << raw << ": " << result.error().message;
  return result ? *result : Pairs{};
}

TEST(ParseQuery, DecodesPairsInOrder) {
  EXPECT_EQ(parsed("a=1&b=%2F"), (Pairs{{"a", "1"}, {"b", "/"}}));
  EXPECT_EQ(parsed("path=%2Fhome%2Fuser%2Fa.txt&username=user"),
            (Pairs{{"path", "/home/user/a.txt"}, {"username", "user"}}));
  EXPECT_EQ(parsed("z=1&a=2&z=3"), (Pairs{{"z", "1"}, {"a", "2"}, {"z", "3"}}));  // duplicates kept
  EXPECT_EQ(parsed("name=%C3%A9t%C3%A9"), (Pairs{{"name", "\u00e9t\u00e9"}}));
  EXPECT_EQ(parsed("%70ath=x"), (Pairs{{"path", "x"}}));  // keys are decoded too
  EXPECT_EQ(parsed("a=%2f%2F"), (Pairs{{"a", "//"}}));    // either hex case
}

TEST(ParseQuery, PlusIsASpaceButEncodedPlusIsAPlus) {
  EXPECT_EQ(parsed("q=hello+world"), (Pairs{{"q", "hello world"}}));
  EXPECT_EQ(parsed("q=1%2B1"), (Pairs{{"q", "1+1"}}));
  EXPECT_EQ(parsed("a+b=c"), (Pairs{{"a b", "c"}}));
  EXPECT_EQ(parsed("q=%20+%2B"), (Pairs{{"q", "  +"}}));
}

TEST(ParseQuery, EmptyPiecesAreSkipped) {
  EXPECT_TRUE(parsed("").empty());
  EXPECT_TRUE(parsed("&&&").empty());
  EXPECT_EQ(parsed("&a=1&&b=2&"), (Pairs{{"a", "1"}, {"b", "2"}}));
}

TEST(ParseQuery, KeysWithoutValues) {
  EXPECT_EQ(parsed("flag"), (Pairs{{"flag", ""}}));
  EXPECT_EQ(parsed("flag&x=1"), (Pairs{{"flag", ""}, {"x", "1"}}));
  EXPECT_EQ(parsed("a="), (Pairs{{"a", ""}}));
  EXPECT_EQ(parsed("=v"), (Pairs{{"", "v"}}));
  EXPECT_EQ(parsed("a=b=c"), (Pairs{{"a", "b=c"}}));  // only the first '=' separates
  EXPECT_EQ(parsed("a=%3D"), (Pairs{{"a", "="}}));
  EXPECT_EQ(parsed("a=%26&b"), (Pairs{{"a", "&"}, {"b", ""}}));  // an encoded '&' does not split
}

TEST(ParseQuery, MalformedEscapesAreErrors) {
  for (const char* raw :
       {"a=%", "a=%2", "a=%zz", "a=%G1", "a=%1G", "%=1", "ok=1&bad=%x", "a%2=1", "a=100%"}) {
    SCOPED_TRACE(raw);
    auto result = parse_query(raw);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Request, QueryValueIsExactAndFirstWins) {
  Request request;
  request.query = parsed("path=%2Fa&Path=%2Fb&path=%2Fc&empty");
  EXPECT_EQ(request.query_value("path"), std::optional<std::string_view>("/a"));
  EXPECT_EQ(request.query_value("Path"), std::optional<std::string_view>("/b"));
  EXPECT_EQ(request.query_value("empty"), std::optional<std::string_view>(""));
  EXPECT_FALSE(request.query_value("missing"));
}

TEST(Headers, GetIgnoresCase) {
  Headers headers;
  headers.add("Content-Type", "application/json");
  headers.add("X-Access-Token", "tok");
  EXPECT_EQ(headers.get("content-type"), std::optional<std::string_view>("application/json"));
  EXPECT_EQ(headers.get("CONTENT-TYPE"), std::optional<std::string_view>("application/json"));
  EXPECT_EQ(headers.get("x-access-token"), std::optional<std::string_view>("tok"));
  EXPECT_FALSE(headers.get("Content-Length"));
  EXPECT_FALSE(headers.get("Content-Typ"));
  EXPECT_FALSE(headers.get("Content-Type "));
}

TEST(Headers, FirstOfRepeatedFieldsWins) {
  Headers headers;
  headers.add("Accept", "a");
  headers.add("accept", "b");
  EXPECT_EQ(headers.get("ACCEPT"), std::optional<std::string_view>("a"));
  EXPECT_EQ(headers.items().size(), 2u);
}

TEST(Headers, SetReplacesEveryFieldOfThatName) {
  Headers headers;
  headers.add("Vary", "Origin");
  headers.add("Content-Type", "text/plain");
  headers.add("vary", "Accept");
  headers.set("VARY", "Accept-Encoding");
  EXPECT_EQ(headers.get("vary"), std::optional<std::string_view>("Accept-Encoding"));
  ASSERT_EQ(headers.items().size(), 2u);
  EXPECT_EQ(headers.items()[0], (std::pair<std::string, std::string>("Content-Type", "text/plain")));
  EXPECT_EQ(headers.items()[1].second, "Accept-Encoding");
  headers.set("X-New", "1");  // set on an absent name adds it
  EXPECT_EQ(headers.get("x-new"), std::optional<std::string_view>("1"));
  EXPECT_EQ(headers.items().size(), 3u);
}

TEST(Headers, Iequals) {
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("E2b-Sandbox-Id", "e2b-sandbox-id"));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("abc", "ab"));
  EXPECT_FALSE(iequals("[", "{"));  // only letters fold: '[' + 32 is '{'
  EXPECT_FALSE(iequals("@", "`"));
}

json::object body_of(const Response& response) {
  boost::system::error_code ec;
  json::value value = json::parse(response.body, ec);
  EXPECT_FALSE(ec) << response.body;
  return value.is_object() ? value.as_object() : json::object{};
}

TEST(ErrorResponse, NotFoundBody) {
  const Response response = error_response(ErrorCode::kNotFound, "path '/home/user/x' does not exist");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.headers.get("content-type"), std::optional<std::string_view>("application/json"));
  EXPECT_EQ(body_of(response),
            (json::object{{"code", 404}, {"message", "path '/home/user/x' does not exist"}}));
  EXPECT_TRUE(body_of(response).at("code").is_int64());  // a number, not "404"
}

TEST(ErrorResponse, StatusFollowsTheCode) {
  const std::vector<std::pair<ErrorCode, int>> cases = {
      {ErrorCode::kInvalidArgument, 400},    {ErrorCode::kUnauthenticated, 401}, {ErrorCode::kNotFound, 404},
      {ErrorCode::kConflict, 409},           {ErrorCode::kPayloadTooLarge, 413}, {ErrorCode::kInternal, 500},
      {ErrorCode::kSandboxUnavailable, 502},
  };
  for (const auto& [code, status] : cases) {
    SCOPED_TRACE(status);
    const Response response = error_response(Error{code, "m"});
    EXPECT_EQ(response.status, status);
    EXPECT_EQ(body_of(response).at("code"), status);
  }
}

TEST(ErrorResponse, MessageIsEscaped) {
  const std::string message = "bad \"name\"\nline2 \\ \u00e9";
  const Response response = error_response(Error{ErrorCode::kInvalidArgument, message});
  EXPECT_EQ(response.body.find('\n'), std::string::npos);
  EXPECT_EQ(body_of(response).at("message"), json::value(message));
}

TEST(Responses, ContentTypes) {
  const Response json_answer = json_response(201, R"({"ok":true})");
  EXPECT_EQ(json_answer.status, 201);
  EXPECT_EQ(json_answer.body, R"({"ok":true})");
  EXPECT_EQ(json_answer.headers.get("Content-Type"), std::optional<std::string_view>("application/json"));
  const Response text_answer = text_response(404, "Context abc not found");
  EXPECT_EQ(text_answer.status, 404);
  EXPECT_EQ(text_answer.body, "Context abc not found");
  ASSERT_TRUE(text_answer.headers.get("content-type"));
  EXPECT_TRUE(text_answer.headers.get("content-type")->starts_with("text/plain"));
}

}  // namespace
}  // namespace cellblock::http
