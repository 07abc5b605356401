// Connect envelopes, end-stream payloads and NDJSON lines.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "http/codec/connect_envelope.h"
#include "http/codec/ndjson.h"

namespace cellblock::http {
namespace {

std::vector<Envelope> drain(EnvelopeDecoder& decoder) {
  std::vector<Envelope> out;
  while (true) {
    auto next = decoder.next();
    EXPECT_TRUE(next.has_value()) << next.error().message;
    if (!next || !next->has_value()) return out;
    out.push_back(std::move(**next));
  }
}

std::string three_envelopes() {
  return encode_envelope(0, R"({"process":{"cmd":"/bin/bash"}})") + encode_envelope(0, "") +
         encode_envelope(kEndStreamFlag, "{}");
}

void expect_three(const std::vector<Envelope>& got) {
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].flags, 0);
  EXPECT_EQ(got[0].payload, R"({"process":{"cmd":"/bin/bash"}})");
  EXPECT_FALSE(got[0].end_stream());
  EXPECT_EQ(got[1].payload, "");
  EXPECT_EQ(got[2].flags, kEndStreamFlag);
  EXPECT_TRUE(got[2].end_stream());
  EXPECT_EQ(got[2].payload, "{}");
}

TEST(ConnectEnvelope, EncodesFlagsAndBigEndianLength) {
  EXPECT_EQ(encode_envelope(kEndStreamFlag, "{}"), std::string("\x02\x00\x00\x00\x02{}", 7));
  const std::string payload(0x01'11'70, 'x');  // 70000: every length byte but the first is non-zero
  const std::string encoded = encode_envelope(0, payload);
  ASSERT_EQ(encoded.size(), 5 + payload.size());
  EXPECT_EQ(encoded.substr(0, 5), std::string("\x00\x00\x01\x11\x70", 5));
}

TEST(ConnectEnvelope, RoundTripInOneFeed) {
  EnvelopeDecoder decoder;
  ASSERT_TRUE(decoder.feed(three_envelopes()));
  expect_three(drain(decoder));
  EXPECT_TRUE(decoder.finish());
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(ConnectEnvelope, SplitAtEveryOffset) {
  const std::string wire = three_envelopes();
  for (std::size_t split = 0; split <= wire.size(); ++split) {
    EnvelopeDecoder decoder;
    ASSERT_TRUE(decoder.feed(std::string_view(wire).substr(0, split)));
    auto got = drain(decoder);
    ASSERT_TRUE(decoder.feed(std::string_view(wire).substr(split)));
    for (auto& envelope : drain(decoder)) got.push_back(std::move(envelope));
    SCOPED_TRACE("split at " + std::to_string(split));
    expect_three(got);
    EXPECT_TRUE(decoder.finish());
  }
}

TEST(ConnectEnvelope, OneByteAtATime) {
  const std::string wire = three_envelopes();
  EnvelopeDecoder decoder;
  std::vector<Envelope> got;
  for (const char c : wire) {
    ASSERT_TRUE(decoder.feed(std::string_view(&c, 1)));
    for (auto& envelope : drain(decoder)) got.push_back(std::move(envelope));
  }
  expect_three(got);
  EXPECT_TRUE(decoder.finish());
}

TEST(ConnectEnvelope, MessageOfExactlyTheLimitIsAccepted) {
  const std::string payload(kDefaultMaxEnvelopeSize, 'a');
  EnvelopeDecoder decoder;
  ASSERT_TRUE(decoder.feed(encode_envelope(0, payload)));
  auto got = drain(decoder);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload.size(), kDefaultMaxEnvelopeSize);
}

TEST(ConnectEnvelope, OversizeIsRejectedFromTheHeaderAlone) {
  EnvelopeDecoder decoder(1024);
  const std::string header = encode_envelope(0, std::string(1025, 'a')).substr(0, 5);
  auto status = decoder.feed(header);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPayloadTooLarge);
  // Sticky: more bytes and next() keep failing.
  EXPECT_FALSE(decoder.feed("more"));
  auto next = decoder.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().code, ErrorCode::kPayloadTooLarge);
}

TEST(ConnectEnvelope, MaximalDeclaredLengthIsRejected) {
  EnvelopeDecoder decoder;
  auto status = decoder.feed(std::string("\x00\xff\xff\xff\xff", 5));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPayloadTooLarge);
}

TEST(ConnectEnvelope, OversizeAfterAValidEnvelopeIsReportedByNext) {
  const std::string wire = encode_envelope(0, "ok") + encode_envelope(0, std::string(17, 'b'));
  // In one feed only the first pending header can be checked; next() checks the one after it.
  EnvelopeDecoder decoder(16);
  ASSERT_TRUE(decoder.feed(wire));
  auto first = decoder.next();
  ASSERT_TRUE(first && first->has_value());
  EXPECT_EQ((*first)->payload, "ok");
  auto second = decoder.next();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kPayloadTooLarge);
  // Fed separately, the second header is rejected by feed() itself.
  EnvelopeDecoder split(16);
  ASSERT_TRUE(split.feed(wire.substr(0, 7)));
  ASSERT_TRUE(split.next().value().has_value());
  auto status = split.feed(wire.substr(7));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPayloadTooLarge);
}

TEST(ConnectEnvelope, CompressedFlagIsRejected) {
  EnvelopeDecoder decoder;
  auto status = decoder.feed(encode_envelope(kCompressedFlag, "xx"));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.error().message, "compressed envelopes are not supported");
}

TEST(ConnectEnvelope, PartialEnvelopeAtFinishIsAnError) {
  const std::string wire = encode_envelope(0, R"({"path":"/home/user"})");
  for (std::size_t cut = 1; cut < wire.size(); ++cut) {
    EnvelopeDecoder decoder;
    ASSERT_TRUE(decoder.feed(wire.substr(0, cut)));
    EXPECT_TRUE(drain(decoder).empty());
    auto status = decoder.finish();
    ASSERT_FALSE(status) << "cut at " << cut;
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  }
  EnvelopeDecoder empty;
  EXPECT_TRUE(empty.finish());
}

TEST(ConnectEnvelope, EndStreamPayloads) {
  EXPECT_EQ(end_stream_ok(), "{}");
  EXPECT_EQ(end_stream_error(ErrorCode::kDeadlineExceeded, "watch timeout"),
            R"({"error":{"code":"deadline_exceeded","message":"watch timeout"}})");
  const std::string tricky = "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9";
  const auto parsed = boost::json::parse(end_stream_error(ErrorCode::kNotFound, tricky));
  EXPECT_EQ(parsed.at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(parsed.at("error").at("message").as_string(), tricky);
}

TEST(ConnectEnvelope, UnaryErrorBody) {
  EXPECT_EQ(unary_error_body(ErrorCode::kAlreadyExists, "exists"),
            R"({"code":"already_exists","message":"exists"})");
  const auto parsed = boost::json::parse(unary_error_body(ErrorCode::kInvalidArgument, "bad \"path\"\n"));
  EXPECT_EQ(parsed.at("code").as_string(), "invalid_argument");
  EXPECT_EQ(parsed.at("message").as_string(), "bad \"path\"\n");
}

TEST(Ndjson, OneLinePerValueEvenWithNewlinesInStrings) {
  boost::json::object event;
  event["type"] = "stdout";
  event["text"] = "a\nb\r\n\n";
  const std::string line = ndjson_line(event);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  EXPECT_EQ(boost::json::parse(line.substr(0, line.size() - 1)), boost::json::value(event));
  EXPECT_EQ(ndjson_line(boost::json::value(nullptr)), "null\n");
  EXPECT_EQ(ndjson_line(boost::json::object{{"type", "end_of_execution"}}),
            "{\"type\":\"end_of_execution\"}\n");
}

}  // namespace
}  // namespace cellblock::http
