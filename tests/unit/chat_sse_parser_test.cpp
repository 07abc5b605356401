#include "chat/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cellblock::chat {
namespace {

std::vector<SseEvent> parse_all(std::string_view stream, std::size_t chunk) {
  SseParser parser;
  std::vector<SseEvent> events;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    EXPECT_TRUE(parser.feed(stream.substr(at, chunk), events));
  }
  return events;
}

std::vector<SseEvent> parse_split(std::string_view stream, std::size_t split) {
  SseParser parser;
  std::vector<SseEvent> events;
  EXPECT_TRUE(parser.feed(stream.substr(0, split), events));
  EXPECT_TRUE(parser.feed(stream.substr(split), events));
  return events;
}

void expect_same(const std::vector<SseEvent>& a, const std::vector<SseEvent>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].event, b[i].event) << i;
    EXPECT_EQ(a[i].data, b[i].data) << i;
    EXPECT_EQ(a[i].id, b[i].id) << i;
    EXPECT_EQ(a[i].retry, b[i].retry) << i;
  }
}

TEST(SseParser, FieldsCommentsAndMultiLineData) {
  const std::string stream =
      ": stream-open\n"
      "event: message_start\n"
      "data: {\"a\":1}\n"
      "\n"
      "data: first\n"
      "data:second\n"
      "data\n"
      "id: 7\n"
      "retry: 1500\n"
      "unknown: ignored\n"
      "\n"
      ": keep-alive\n"
      "\n"
      "event: only-event-no-data\n"
      "\n"
      "data: after\n"
      "\n";
  auto events = parse_all(stream, stream.size());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event, "message_start");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[0].id, "");
  EXPECT_EQ(events[1].event, "message");
  EXPECT_EQ(events[1].data, "first\nsecond\n");
  EXPECT_EQ(events[1].id, "7");
  EXPECT_EQ(events[1].retry, 1500u);
  // The event name of a data-less block must not leak into the next event; the id persists.
  EXPECT_EQ(events[2].event, "message");
  EXPECT_EQ(events[2].data, "after");
  EXPECT_EQ(events[2].id, "7");
}

TEST(SseParser, OnlyOneLeadingSpaceIsStripped) {
  auto events = parse_all("data:  two spaces\n\n", 64);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, " two spaces");
}

TEST(SseParser, CrLfAndCrLineEndsAreEquivalent) {
  const std::string lf = "event: a\ndata: x\ndata: y\n\ndata: z\n\n";
  const std::string crlf = "event: a\r\ndata: x\r\ndata: y\r\n\r\ndata: z\r\n\r\n";
  const std::string cr = "event: a\rdata: x\rdata: y\r\rdata: z\r\r";
  auto expected = parse_all(lf, lf.size());
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(expected[0].data, "x\ny");
  for (const std::string* stream : {&crlf, &cr}) {
    for (std::size_t split = 0; split <= stream->size(); ++split)
      expect_same(parse_split(*stream, split), expected);
    expect_same(parse_all(*stream, 1), expected);
  }
}

TEST(SseParser, IncompleteEventIsNotDispatched) {
  SseParser parser;
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.feed("data: partial\n", events));
  EXPECT_TRUE(events.empty());
  ASSERT_TRUE(parser.feed("\n", events));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "partial");
}

TEST(SseParser, BomAtStreamStartIsSkipped) {
  auto events = parse_all(
      "\xEF\xBB\xBF"
      "data: x\n\n",
      1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParser, BufferIsBounded) {
  SseParser parser(32);
  std::vector<SseEvent> events;
  ASSERT_TRUE(parser.feed("data: short\n\n", events));
  ASSERT_EQ(events.size(), 1u);
  auto status = parser.feed("data: " + std::string(40, 'x'), events);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPayloadTooLarge);
  // Accumulated multi-line data counts too, and the parser stays failed.
  SseParser second(32);
  std::string many;
  for (int i = 0; i < 10; ++i) many += "data: 0123456\n";
  EXPECT_FALSE(second.feed(many, events));
  EXPECT_FALSE(second.feed("\n", events));
}

}  // namespace
}  // namespace cellblock::chat
