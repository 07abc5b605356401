// The `metadata` query parameter of GET /v2/sandboxes, decoded as e2b-api.md §3.5 prescribes.

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "common/encoding.h"
#include "store/metadata_filter.h"

namespace cellblock::store {
namespace {

using Filter = std::map<std::string, std::string>;

// What the HTTP layer hands over: the raw query value decoded once.
std::string query_decoded(std::string_view raw) {
  auto once = percent_decode(raw);
  EXPECT_TRUE(once) << raw;
  return once.value_or("");
}

TEST(MetadataFilter, DecodesTheSpecExample) {
  auto filter = parse_metadata_filter(query_decoded("a%252520b%3Dc%252526d%26x%3D1%25253D2"));
  ASSERT_TRUE(filter) << filter.error().message;
  EXPECT_EQ(*filter, (Filter{{"a b", "c&d"}, {"x", "1=2"}}));
}

TEST(MetadataFilter, PlainPairsRoundTrip) {
  auto filter = parse_metadata_filter(query_decoded("userID%3D42%26env%3Dprod"));
  ASSERT_TRUE(filter);
  EXPECT_EQ(*filter, (Filter{{"userID", "42"}, {"env", "prod"}}));
  auto single = parse_metadata_filter("k=v");
  ASSERT_TRUE(single);
  EXPECT_EQ(*single, (Filter{{"k", "v"}}));
}

TEST(MetadataFilter, EmptyKeysAndValuesAreLegal) {
  auto filter = parse_metadata_filter("a=&=b");
  ASSERT_TRUE(filter);
  EXPECT_EQ(*filter, (Filter{{"a", ""}, {"", "b"}}));
}

TEST(MetadataFilter, PlusIsASpaceAsInGosQueryUnescape) {
  auto filter = parse_metadata_filter("a+b=c%252Bd");
  ASSERT_TRUE(filter);
  EXPECT_EQ(*filter, (Filter{{"a b", "c+d"}}));
}

TEST(MetadataFilter, EmptyValueIsAnEmptyFilter) {
  auto filter = parse_metadata_filter("");
  ASSERT_TRUE(filter);
  EXPECT_TRUE(filter->empty());
}

TEST(MetadataFilter, PiecesMustBeExactlyOnePair) {
  // "a=1=2" after the second unescape: the '=' inside a value must arrive encoded.
  for (const char* value :
       {"novalue", "a=1=2", "a=1&", "&a=1", "a=1&&b=2", "a%3D1%3D2", "%zz=1", "a=%2", "a=%25zz"}) {
    auto filter = parse_metadata_filter(value);
    ASSERT_FALSE(filter) << value;
    EXPECT_EQ(filter.error().code, ErrorCode::kInvalidArgument) << value;
  }
}

}  // namespace
}  // namespace cellblock::store
