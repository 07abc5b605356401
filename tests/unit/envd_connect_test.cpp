// The Connect field readers (e2b-api.md §5.3: protobuf JSON leniency for int64, bytes and optional fields).

#include "agent/envd/connect_rpc.h"

#include <gtest/gtest.h>

namespace cellblock::agent {
namespace {

namespace json = boost::json;

json::object parse(std::string_view text) {
  return json::parse(text).as_object();
}

template <class T>
void expect_invalid(const Result<T>& result, std::initializer_list<std::string_view> fragments) {
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  for (auto fragment : fragments) {
    EXPECT_NE(result.error().message.find(fragment), std::string::npos)
        << "'" << fragment << "' not in: " << result.error().message;
  }
}

TEST(ExpectKnownFields, AcceptsSubsetsAndEmpty) {
  EXPECT_TRUE(expect_known_fields(parse("{}"), {"path"}, "StatRequest"));
  EXPECT_TRUE(expect_known_fields(parse(R"({"path": "/a"})"), {"path", "depth"}, "ListDirRequest"));
  EXPECT_TRUE(
      expect_known_fields(parse(R"({"path": "/a", "depth": 1})"), {"path", "depth"}, "ListDirRequest"));
}

TEST(ExpectKnownFields, NamesTheUnknownField) {
  expect_invalid(
      expect_known_fields(parse(R"({"path": "/a", "recursiv": true})"), {"path", "recursive"}, "MoveRequest"),
      {"MoveRequest", "recursiv"});
  // Matching is exact: protobuf names are case-sensitive.
  expect_invalid(expect_known_fields(parse(R"({"Path": "/a"})"), {"path"}, "StatRequest"), {"Path"});
  expect_invalid(expect_known_fields(parse(R"({"x": 1})"), {}, "Empty"), {"x"});
}

TEST(StringField, PresentAbsentAndRequired) {
  const auto message = parse(R"({"path": "/home/user", "empty": "", "none": null, "number": 5})");
  auto path = string_field(message, "path");
  ASSERT_TRUE(path);
  EXPECT_EQ(*path, "/home/user");
  auto empty = string_field(message, "empty", true);
  ASSERT_TRUE(empty);  // present, even if empty
  EXPECT_EQ(*empty, "");
  auto missing = string_field(message, "missing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(*missing, "");
  auto none = string_field(message, "none");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "");
  expect_invalid(string_field(message, "missing", true), {"missing", "required"});
  expect_invalid(string_field(message, "none", true), {"none", "required"});
  expect_invalid(string_field(message, "number"), {"number", "string"});
}

TEST(OptionalStringField, KeepsPresence) {
  const auto message = parse(R"({"cwd": "", "tag": "t", "bad": {}})");
  auto cwd = optional_string_field(message, "cwd");
  ASSERT_TRUE(cwd);
  ASSERT_TRUE(*cwd);
  EXPECT_EQ(**cwd, "");
  auto tag = optional_string_field(message, "tag");
  ASSERT_TRUE(tag && *tag);
  EXPECT_EQ(**tag, "t");
  auto absent = optional_string_field(message, "stdin");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(*absent);
  expect_invalid(optional_string_field(message, "bad"), {"bad"});
}

TEST(IntField, Numbers) {
  const auto message = parse(R"({"a": 42, "b": -7, "c": 0, "d": 3.0, "big": 9223372036854775807})");
  EXPECT_EQ(int_field(message, "a").value(), 42);
  EXPECT_EQ(int_field(message, "b").value(), -7);
  EXPECT_EQ(int_field(message, "c", 99).value(), 0);  // a present zero is not the fallback
  EXPECT_EQ(int_field(message, "d").value(), 3);
  EXPECT_EQ(int_field(message, "big").value(), INT64_MAX);
}

TEST(IntField, AbsentOrNullGivesFallback) {
  const auto message = parse(R"({"none": null})");
  EXPECT_EQ(int_field(message, "missing").value(), 0);
  EXPECT_EQ(int_field(message, "missing", 17).value(), 17);
  EXPECT_EQ(int_field(message, "none", -3).value(), -3);
}

TEST(IntField, Int64AsString) {
  // protobuf JSON writes int64 as strings; 2^53 + 1 is not representable as a double.
  const auto message =
      parse(R"({"size": "9007199254740993", "neg": "-9223372036854775808", "max": "9223372036854775807"})");
  EXPECT_EQ(int_field(message, "size").value(), 9007199254740993LL);
  EXPECT_EQ(int_field(message, "neg").value(), INT64_MIN);
  EXPECT_EQ(int_field(message, "max").value(), INT64_MAX);
}

TEST(IntField, Rejections) {
  const auto message = parse(R"({
    "fraction": 3.5, "tiny": 0.000001, "huge": 1e19, "neg_huge": -1e19, "too_big": 18446744073709551615,
    "text": "12a", "empty": "", "spaced": " 12", "overflow": "9223372036854775808", "float_text": "1.5",
    "flag": true, "list": [1], "object": {}
  })");
  for (const char* name : {"fraction", "tiny", "huge", "neg_huge", "too_big", "text", "empty", "spaced",
                           "overflow", "float_text", "flag", "list", "object"}) {
    SCOPED_TRACE(name);
    expect_invalid(int_field(message, name), {name, "integer"});
  }
}

TEST(BoolField, Values) {
  const auto message = parse(R"({"t": true, "f": false, "none": null, "text": "true", "one": 1})");
  EXPECT_EQ(bool_field(message, "t").value(), true);
  EXPECT_EQ(bool_field(message, "f", true).value(), false);
  EXPECT_EQ(bool_field(message, "missing").value(), false);
  EXPECT_EQ(bool_field(message, "missing", true).value(), true);
  EXPECT_EQ(bool_field(message, "none", true).value(), true);
  expect_invalid(bool_field(message, "text"), {"text", "boolean"});
  expect_invalid(bool_field(message, "one"), {"one"});
}

TEST(ObjectField, Values) {
  const auto message = parse(R"({"envs": {"A": "1"}, "empty": {}, "none": null, "list": [], "text": "{}"})");
  auto envs = object_field(message, "envs");
  ASSERT_TRUE(envs && *envs);
  EXPECT_EQ(**envs, (json::object{{"A", "1"}}));
  auto empty = object_field(message, "empty");
  ASSERT_TRUE(empty && *empty);
  EXPECT_TRUE((*empty)->empty());
  auto missing = object_field(message, "missing");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  auto none = object_field(message, "none");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  expect_invalid(object_field(message, "list"), {"list", "object"});
  expect_invalid(object_field(message, "text"), {"text"});
}

TEST(BytesField, StandardBase64) {
  const auto message = parse(R"({"a": "aGVsbG8=", "b": "aGk=", "c": "AAEC/w==", "d": ""})");
  EXPECT_EQ(bytes_field(message, "a").value(), "hello");
  EXPECT_EQ(bytes_field(message, "b").value(), "hi");
  EXPECT_EQ(bytes_field(message, "c").value(), std::string("\x00\x01\x02\xff", 4));
  EXPECT_EQ(bytes_field(message, "d").value(), "");
  EXPECT_EQ(bytes_field(message, "missing").value(), "");
}

TEST(BytesField, UrlSafeAndUnpadded) {
  // Bytes FB FF BF: "+/+/" in the standard alphabet, "-_-_" in the URL-safe one.
  const std::string expected("\xfb\xff\xbf", 3);
  const auto message = parse(R"({"std": "+/+/", "url": "-_-_", "unpadded": "aGVsbG8", "unpadded2": "aGk",
                                 "url_padded": "-_8=", "url_unpadded": "-_8"})");
  EXPECT_EQ(bytes_field(message, "std").value(), expected);
  EXPECT_EQ(bytes_field(message, "url").value(), expected);
  EXPECT_EQ(bytes_field(message, "unpadded").value(), "hello");
  EXPECT_EQ(bytes_field(message, "unpadded2").value(), "hi");
  EXPECT_EQ(bytes_field(message, "url_padded").value(), std::string("\xfb\xff", 2));
  EXPECT_EQ(bytes_field(message, "url_unpadded").value(), std::string("\xfb\xff", 2));
}

TEST(BytesField, InvalidBase64) {
  const auto message = parse(
      R"({"chars": "a$b=", "space": "aGVs bG8=", "one_char": "a", "padding": "a===", "inner_pad": "aG=k",
               "number": 12})");
  for (const char* name : {"chars", "space", "one_char", "padding", "inner_pad"}) {
    SCOPED_TRACE(name);
    expect_invalid(bytes_field(message, name), {name, "base64"});
  }
  expect_invalid(bytes_field(message, "number"), {"number", "string"});
}

}  // namespace
}  // namespace cellblock::agent
