// The egress proxy's DNS messages (dns_message.h): the A query byte for byte, real answers from dnsmasq
// (tests/fixtures/dns, captured from the fake internet), and hand-built hostile answers: compression pointers
// that loop, point forward, out of range or into the header, CNAME chains and loops, every truncation.

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hex_fixture.h"
#include "net/dns_message.h"

namespace cellblock::net {
namespace {

using Addresses = std::vector<std::uint32_t>;

constexpr std::uint32_t ip(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

template <class T>
Error error_of(const Result<T>& result) {
  return result ? Error{ErrorCode::kUnimplemented, "<unexpectedly succeeded>"} : result.error();
}

std::string read_hex_fixture(const std::string& name) {
  return fixtures::read_hex_fixture("dns", name);
}

// ---------------------------------------------------------------------------------------------------------------
// Building responses

std::string u8(std::size_t value) {
  return std::string(1, static_cast<char>(value));
}
std::string u16(std::size_t value) {
  return u8(value >> 8) + u8(value & 0xff);
}
std::string u32(std::uint32_t value) {
  return u16(value >> 16) + u16(value & 0xffff);
}

// A name in uncompressed wire form; `end` ends it (the root label, or a compression pointer).
std::string wire(std::string_view dotted, const std::string& end = std::string(1, '\0')) {
  std::string out;
  while (!dotted.empty()) {
    const std::size_t dot = dotted.find('.');
    const std::string_view label = dotted.substr(0, dot);
    out += u8(label.size()) + std::string(label);
    dotted = dot == std::string_view::npos ? std::string_view() : dotted.substr(dot + 1);
  }
  return out + end;
}

std::string pointer(std::size_t offset) {
  return u8(0xc0 | (offset >> 8)) + u8(offset & 0xff);
}

constexpr std::uint16_t kResponseFlags = 0x8180;  // response, recursion desired and available, NOERROR
constexpr std::size_t kQuestionOffset = 12;

std::string header(std::uint16_t id, std::uint16_t flags, std::size_t questions, std::size_t answers) {
  return u16(id) + u16(flags) + u16(questions) + u16(answers) + u16(0) + u16(0);
}

std::string question(std::string_view name, std::uint16_t type = 1, std::uint16_t klass = 1) {
  return wire(name) + u16(type) + u16(klass);
}

std::string record(const std::string& owner, std::uint16_t type, const std::string& data,
                   std::uint16_t klass = 1) {
  return owner + u16(type) + u16(klass) + u32(300) + u16(data.size()) + data;
}

std::string a_record(const std::string& owner, std::uint32_t address) {
  return record(owner, 1, u32(address));
}
std::string cname_record(const std::string& owner, const std::string& target) {
  return record(owner, 5, target);
}

// A NOERROR response to the A query for `name` with id 7, and these answer records.
std::string response(std::string_view name, const std::vector<std::string>& answers) {
  std::string out = header(7, kResponseFlags, 1, answers.size()) + question(name);
  for (const std::string& answer : answers) out += answer;
  return out;
}

Result<Addresses> parse(const std::string& bytes, std::string_view name) {
  return parse_a_answers(bytes, 7, name);
}

// ---------------------------------------------------------------------------------------------------------------
// Queries

TEST(BuildAQuery, IsAStandardRecursiveQuery) {
  auto query = build_a_query(0x1234, "Allowed.Test.");
  ASSERT_TRUE(query) << query.error().message;
  EXPECT_EQ(*query, std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                                "\x07"
                                "allowed\x04test\x00\x00\x01\x00\x01",
                                30));
}

TEST(BuildAQuery, AsksWhatDnsmasqAnswered) {
  // The question dnsmasq echoed for an independently built query (tests/fixtures/dns/README.md) is ours.
  const std::string answer = read_hex_fixture("dnsmasq-a-allowed.test.hex");
  auto query = build_a_query(0x4a7b, "allowed.test");
  ASSERT_TRUE(query);
  EXPECT_EQ(query->substr(0, 2), answer.substr(0, 2));
  EXPECT_EQ(query->substr(12), answer.substr(12, query->size() - 12));
}

TEST(BuildAQuery, RefusesWhatIsNotAHostname) {
  const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                              "." + std::string(61, 'd');
  EXPECT_TRUE(build_a_query(1, longest));
  EXPECT_TRUE(build_a_query(1, longest + "."));
  EXPECT_TRUE(build_a_query(1, "_acme-challenge.example-1.test"));
  EXPECT_TRUE(build_a_query(1, std::string(63, 'x')));
  for (std::string name : {std::string(), std::string("."), std::string("a..b"), std::string(".a"),
                           std::string("a b.test"), std::string("a\0b", 3), std::string("ex*ample.test"),
                           std::string("::1"), std::string("caf\xc3\xa9.test"), std::string(64, 'x'),
                           longest + "e", std::string("a.test.."), std::string("a/b")}) {
    const Error error = error_of(build_a_query(1, name));
    EXPECT_EQ(error.code, ErrorCode::kInvalidArgument) << testing::PrintToString(name);
    EXPECT_NE(error.message.find("not a valid hostname"), std::string::npos) << error.message;
    EXPECT_EQ(error_of(build_tcp_query(1, name)).code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(error_of(parse_a_answers(response("allowed.test", {}), 7, name)).code, ErrorCode::kInternal);
  }
}

TEST(BuildTcpQuery, PrefixesTheLength) {
  auto udp = build_a_query(0xbeef, "api.allowed.test");
  auto tcp = build_tcp_query(0xbeef, "api.allowed.test");
  ASSERT_TRUE(udp && tcp);
  ASSERT_EQ(tcp->size(), udp->size() + 2);
  EXPECT_EQ(tcp->substr(0, 2), u16(udp->size()));
  EXPECT_EQ(tcp->substr(2), *udp);
}

// ---------------------------------------------------------------------------------------------------------------
// Real answers

TEST(ParseAAnswers, ReadsDnsmasqAnswers) {
  auto allowed = parse_a_answers(read_hex_fixture("dnsmasq-a-allowed.test.hex"), 0x4a7b, "allowed.test");
  ASSERT_TRUE(allowed) << allowed.error().message;
  EXPECT_EQ(*allowed, Addresses{ip(198, 19, 7, 10)});

  auto www = parse_a_answers(read_hex_fixture("dnsmasq-a-www.allowed.test.hex"), 0x0102, "WWW.allowed.test.");
  ASSERT_TRUE(www) << www.error().message;
  EXPECT_EQ(*www, Addresses{ip(198, 19, 7, 10)});

  const std::string framed = read_hex_fixture("dnsmasq-tcp-a-api.allowed.test.hex");
  ASSERT_EQ(framed.substr(0, 2), u16(framed.size() - 2));
  auto api = parse_a_answers(framed.substr(2), 0x7777, "api.allowed.test");
  ASSERT_TRUE(api) << api.error().message;
  EXPECT_EQ(*api, Addresses{ip(198, 19, 7, 10)});
}

TEST(ParseAAnswers, NamesTheMissingName) {
  const Error error = error_of(parse_a_answers(read_hex_fixture("dnsmasq-nxdomain-missing.allowed.test.hex"),
                                               0xbeef, "missing.allowed.test"));
  EXPECT_EQ(error.code, ErrorCode::kNotFound);
  EXPECT_EQ(error.message, "DNS: missing.allowed.test does not exist (NXDOMAIN)");
}

TEST(ParseAAnswers, EveryTruncationIsAnError) {
  struct Case {
    const char* file;
    std::uint16_t id;
    const char* name;
    std::size_t skip;
  };
  for (const Case& c : {Case{"dnsmasq-a-allowed.test.hex", 0x4a7b, "allowed.test", 0},
                        Case{"dnsmasq-a-www.allowed.test.hex", 0x0102, "www.allowed.test", 0},
                        Case{"dnsmasq-nxdomain-missing.allowed.test.hex", 0xbeef, "missing.allowed.test", 0},
                        Case{"dnsmasq-tcp-a-api.allowed.test.hex", 0x7777, "api.allowed.test", 2}}) {
    const std::string answer = read_hex_fixture(c.file).substr(c.skip);
    for (std::size_t size = 0; size < answer.size(); ++size) {
      auto result = parse_a_answers(std::string_view(answer).substr(0, size), c.id, c.name);
      ASSERT_FALSE(result) << c.file << " cut to " << size << " bytes";
      const ErrorCode code = result.error().code;
      ASSERT_TRUE(code == kDnsNotOurAnswer || code == ErrorCode::kUnavailable ||
                  (code == ErrorCode::kNotFound && size >= 12 + 4 + std::string_view(c.name).size() + 2))
          << c.file << " cut to " << size << ": " << result.error().message;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Whether the response is ours

TEST(ParseAAnswers, DropsResponsesToOtherQueries) {
  const std::string good = response("allowed.test", {a_record(pointer(kQuestionOffset), ip(1, 2, 3, 4))});
  ASSERT_TRUE(parse(good, "allowed.test"));

  const Error wrong_id = error_of(parse_a_answers(good, 8, "allowed.test"));
  EXPECT_EQ(wrong_id.code, kDnsNotOurAnswer);
  EXPECT_EQ(wrong_id.message, "DNS response id 7 does not match the query's 8 for allowed.test");

  std::string query = good;
  query[2] = 0x01;  // QR clear: a query, not a response
  EXPECT_EQ(error_of(parse(query, "allowed.test")).code, kDnsNotOurAnswer);

  std::string notify = good;
  notify[2] = static_cast<char>(0x80 | (4 << 3));  // opcode NOTIFY
  EXPECT_EQ(error_of(parse(notify, "allowed.test")).code, kDnsNotOurAnswer);

  EXPECT_EQ(error_of(parse(good, "other.test")).code, kDnsNotOurAnswer);
  EXPECT_EQ(error_of(parse(good, "allowed.test.evil")).code, kDnsNotOurAnswer);
  EXPECT_EQ(error_of(parse(good, "test")).code, kDnsNotOurAnswer);

  const std::string aaaa = header(7, kResponseFlags, 1, 0) + question("allowed.test", 28);
  EXPECT_EQ(error_of(parse(aaaa, "allowed.test")).code, kDnsNotOurAnswer);
  const std::string chaos = header(7, kResponseFlags, 1, 0) + question("allowed.test", 1, 3);
  EXPECT_EQ(error_of(parse(chaos, "allowed.test")).code, kDnsNotOurAnswer);

  const std::string two_questions =
      header(7, kResponseFlags, 2, 0) + question("allowed.test") + question("x.test");
  EXPECT_EQ(error_of(parse(two_questions, "allowed.test")).code, kDnsNotOurAnswer);
  const std::string no_question =
      header(7, kResponseFlags, 0, 1) + a_record(wire("allowed.test"), ip(1, 2, 3, 4));
  EXPECT_EQ(error_of(parse(no_question, "allowed.test")).code, kDnsNotOurAnswer);

  EXPECT_EQ(error_of(parse(std::string(11, '\0'), "allowed.test")).code, kDnsNotOurAnswer);
  EXPECT_EQ(error_of(parse("", "allowed.test")).code, kDnsNotOurAnswer);
}

TEST(ParseAAnswers, MatchesTheQuestionIgnoringCase) {
  // Resolvers may randomise the case of the query (DNS 0x20) and echo it.
  const std::string mixed = header(7, kResponseFlags, 1, 1) + question("AlLoWeD.TeSt") +
                            a_record(pointer(kQuestionOffset), ip(1, 2, 3, 4));
  auto result = parse(mixed, "allowed.TEST");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, Addresses{ip(1, 2, 3, 4)});
}

// ---------------------------------------------------------------------------------------------------------------
// Server answers

TEST(ParseAAnswers, TruncatedAnswersAskForTcp) {
  std::string truncated = response("allowed.test", {});
  truncated[2] = static_cast<char>(0x83);  // response, TC, RD
  const Error error = error_of(parse(truncated, "allowed.test"));
  EXPECT_EQ(error.code, kDnsTruncated);
  EXPECT_EQ(error.code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(error.message, "DNS answer for allowed.test was truncated; ask again over TCP");
  // Even with the question cut off.
  EXPECT_EQ(error_of(parse(truncated.substr(0, 12), "allowed.test")).code, kDnsTruncated);
  // But not for someone else's query.
  EXPECT_EQ(error_of(parse_a_answers(truncated, 8, "allowed.test")).code, kDnsNotOurAnswer);
}

TEST(ParseAAnswers, ServerFailuresAreUnavailable) {
  const std::string servfail = header(7, 0x8182, 1, 0) + question("allowed.test");
  const Error error = error_of(parse(servfail, "allowed.test"));
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
  EXPECT_EQ(error.message, "DNS server answered SERVFAIL for allowed.test");

  const std::string refused_without_question = header(7, 0x8185, 0, 0);
  EXPECT_EQ(error_of(parse(refused_without_question, "allowed.test")).message,
            "DNS server answered REFUSED for allowed.test");
  EXPECT_EQ(error_of(parse(header(7, 0x8181, 0, 0), "allowed.test")).message,
            "DNS server answered FORMERR for allowed.test");
  EXPECT_EQ(error_of(parse(header(7, 0x8184, 1, 0) + question("allowed.test"), "allowed.test")).message,
            "DNS server answered NOTIMP for allowed.test");
  EXPECT_EQ(error_of(parse(header(7, 0x8189, 1, 0) + question("allowed.test"), "allowed.test")).message,
            "DNS server answered RCODE 9 for allowed.test");
  // NXDOMAIN must say what does not exist.
  EXPECT_EQ(error_of(parse(header(7, 0x8183, 0, 0), "allowed.test")).code, kDnsNotOurAnswer);
}

TEST(ParseAAnswers, NoAddressIsNotFound) {
  const Error empty = error_of(parse(response("allowed.test", {}), "allowed.test"));
  EXPECT_EQ(empty.code, ErrorCode::kNotFound);
  EXPECT_EQ(empty.message, "DNS: allowed.test has no IPv4 address");

  // Records of other types and classes, and of other names, do not count.
  const std::string others = response(
      "allowed.test",
      {record(pointer(kQuestionOffset), 28, std::string(16, '\1')),
       record(pointer(kQuestionOffset), 16, "\x05hello"), record(pointer(kQuestionOffset), 1, u32(1), 3),
       a_record(wire("evil.test"), ip(6, 6, 6, 6)), a_record(wire("www.allowed.test"), ip(6, 6, 6, 6))});
  EXPECT_EQ(error_of(parse(others, "allowed.test")).code, ErrorCode::kNotFound);
}

TEST(ParseAAnswers, KeepsEveryAddressInOrder) {
  const std::string many = response("allowed.test", {a_record(pointer(kQuestionOffset), ip(10, 0, 0, 3)),
                                                     a_record(wire("ALLOWED.test"), ip(10, 0, 0, 1)),
                                                     a_record(pointer(kQuestionOffset), ip(10, 0, 0, 2))});
  auto result = parse(many, "allowed.test");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, (Addresses{ip(10, 0, 0, 3), ip(10, 0, 0, 1), ip(10, 0, 0, 2)}));
}

TEST(ParseAAnswers, ReadsLargeAnswersInLinearTime) {
  // A 64 KiB TCP answer of 4000 compressed A records (16 bytes each).
  std::vector<std::string> answers;
  for (std::uint32_t i = 0; i < 4000; ++i) answers.push_back(a_record(pointer(kQuestionOffset), i));
  const std::string large = response("allowed.test", answers);
  ASSERT_LT(large.size(), 65536u);
  auto result = parse(large, "allowed.test");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->size(), 4000u);
  EXPECT_EQ(result->back(), 3999u);
}

// ---------------------------------------------------------------------------------------------------------------
// Malformed answers

TEST(ParseAAnswers, MalformedRecordsAreUnavailable) {
  const auto code_of = [](const std::string& bytes) { return error_of(parse(bytes, "allowed.test")).code; };
  const std::string owner = pointer(kQuestionOffset);
  EXPECT_EQ(code_of(response("allowed.test", {record(owner, 1, "\1\2\3")})), ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(response("allowed.test", {record(owner, 1, "\1\2\3\4\5")})), ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(response("allowed.test", {cname_record(owner, wire("x.test") + "junk")})),
            ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(response("allowed.test", {cname_record(owner, "\x05x.tes")})), ErrorCode::kUnavailable);

  // Fewer records than announced, a record cut short, rdata past the end.
  std::string missing = response("allowed.test", {a_record(owner, 1)});
  missing[7] = 2;
  EXPECT_EQ(code_of(missing), ErrorCode::kUnavailable);
  std::string overlong = response("allowed.test", {a_record(owner, 1)});
  overlong[overlong.size() - 5] = 9;
  EXPECT_EQ(code_of(overlong), ErrorCode::kUnavailable);

  // Extended (0x40) and reserved (0x80) label types.
  EXPECT_EQ(code_of(response("allowed.test", {a_record("\x41" + std::string(1, '\0'), 1)})),
            ErrorCode::kUnavailable);
  EXPECT_EQ(code_of(response("allowed.test", {a_record("\x81" + std::string(1, '\0'), 1)})),
            ErrorCode::kUnavailable);

  // A name longer than 255 octets.
  const std::string label = u8(63) + std::string(63, 'a');
  EXPECT_EQ(code_of(response("allowed.test", {a_record(label + label + label + label + u8(0), 1)})),
            ErrorCode::kUnavailable);
}

TEST(ParseAAnswers, ALabelWithADotIsNotTwoLabels) {
  const std::string dotted_label = header(7, kResponseFlags, 1, 1) + question("www.allowed.test") +
                                   a_record("\x0bwww.allowed\x04test" + u8(0), 1);
  EXPECT_EQ(error_of(parse(dotted_label, "www.allowed.test")).code, ErrorCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------------------------
// Compression pointers

TEST(ParseAAnswers, FollowsCompressionPointers) {
  // "www" + a pointer to "allowed.test" inside the question "api.allowed.test".
  const std::size_t allowed_offset = kQuestionOffset + 4;
  const std::string suffix = header(7, kResponseFlags, 1, 2) + question("api.allowed.test") +
                             a_record(wire("www", pointer(allowed_offset)), ip(9, 9, 9, 9)) +
                             a_record(pointer(kQuestionOffset), ip(1, 1, 1, 1));
  auto result = parse(suffix, "api.allowed.test");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, Addresses{ip(1, 1, 1, 1)});
  EXPECT_TRUE(parse(suffix, "api.allowed.test"));

  // A pointer to a pointer.
  std::string message = header(7, kResponseFlags, 1, 2) + question("allowed.test");
  const std::size_t first_owner = message.size();
  message +=
      a_record(pointer(kQuestionOffset), ip(1, 1, 1, 1)) + a_record(pointer(first_owner), ip(2, 2, 2, 2));
  result = parse(message, "allowed.test");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, (Addresses{ip(1, 1, 1, 1), ip(2, 2, 2, 2)}));
}

TEST(ParseAAnswers, RefusesPointerLoopsAndStrayPointers) {
  const auto with_owner_at_end = [](const std::function<std::string(std::size_t)>& owner) {
    std::string message = header(7, kResponseFlags, 1, 1) + question("allowed.test");
    return message + a_record(owner(message.size()), 1);
  };
  const auto code_of = [](const std::string& bytes) { return error_of(parse(bytes, "allowed.test")).code; };

  // Pointing at itself.
  EXPECT_EQ(code_of(with_owner_at_end([](std::size_t at) { return pointer(at); })), ErrorCode::kUnavailable);
  // Labels, then a pointer back to their own start: a loop through labels.
  EXPECT_EQ(code_of(with_owner_at_end([](std::size_t at) { return wire("a", pointer(at)); })),
            ErrorCode::kUnavailable);
  // Forward, to the A record's own address bytes.
  EXPECT_EQ(code_of(with_owner_at_end([](std::size_t at) { return pointer(at + 12); })),
            ErrorCode::kUnavailable);
  // Past the end of the message, as far as 14 bits reach.
  EXPECT_EQ(code_of(with_owner_at_end([](std::size_t) { return pointer(0x3fff); })), ErrorCode::kUnavailable);
  // Into the header.
  EXPECT_EQ(code_of(with_owner_at_end([](std::size_t) { return pointer(2); })), ErrorCode::kUnavailable);
  // Cut in half at the end of the message.
  std::string cut = header(7, kResponseFlags, 1, 1) + question("allowed.test") + "\xc0";
  EXPECT_EQ(code_of(cut), ErrorCode::kUnavailable);

  // Two names pointing at each other: the second points back at the first, the first forward at the second.
  std::string message = header(7, kResponseFlags, 1, 2) + question("allowed.test");
  const std::size_t first = message.size();
  const std::size_t first_record_size = 2 + 10 + 4;
  message += a_record(pointer(first + first_record_size), 1) + a_record(pointer(first), 2);
  EXPECT_EQ(code_of(message), ErrorCode::kUnavailable);

  // The question itself cannot be compressed: nothing comes before it.
  const std::string compressed_question =
      header(7, kResponseFlags, 1, 0) + pointer(kQuestionOffset) + u16(1) + u16(1);
  EXPECT_EQ(code_of(compressed_question), kDnsNotOurAnswer);
}

TEST(ParseAAnswers, BoundsPointerChains) {
  // A TXT record whose data is `hops - 1` pointers, each to the one before, the first to the question; then
  // an A record owned by a pointer to the last: its name takes `hops` jumps to read.
  const auto chain = [](int hops) {
    std::string pointers;
    const std::string head = header(7, kResponseFlags, 1, 2) + question("allowed.test");
    const std::size_t data_start = head.size() + 2 + 10;
    std::size_t previous = kQuestionOffset;
    for (int i = 0; i < hops - 1; ++i) {
      pointers += pointer(previous);
      previous = data_start + 2 * static_cast<std::size_t>(i);
    }
    return head + record(pointer(kQuestionOffset), 16, pointers) +
           a_record(pointer(previous), ip(4, 4, 4, 4));
  };
  auto longest = parse(chain(128), "allowed.test");
  ASSERT_TRUE(longest) << longest.error().message;
  EXPECT_EQ(*longest, Addresses{ip(4, 4, 4, 4)});
  EXPECT_EQ(error_of(parse(chain(129), "allowed.test")).code, ErrorCode::kUnavailable);
}

// ---------------------------------------------------------------------------------------------------------------
// CNAME chains

TEST(ParseAAnswers, FollowsCnameChains) {
  std::string message = header(7, kResponseFlags, 1, 5) + question("www.allowed.test");
  // The A record first: order in the answer section does not matter.
  const std::string unrelated = a_record(wire("unrelated.test"), ip(6, 6, 6, 6));
  message += unrelated;
  const std::size_t edge_target = message.size() + 2 + 10;
  message += cname_record(pointer(kQuestionOffset), wire("edge.cdn.test"));
  const std::size_t cdn_offset = edge_target + 5;
  message += cname_record(pointer(edge_target), wire("x", pointer(cdn_offset)));
  message += a_record(wire("X.CDN.test"), ip(1, 2, 3, 4));
  message += a_record(wire("edge.cdn.test.other"), ip(6, 6, 6, 6));
  auto result = parse(message, "www.allowed.test");
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(*result, Addresses{ip(1, 2, 3, 4)});
}

TEST(ParseAAnswers, BoundsCnameChains) {
  // n0 (the question) -> n1 -> ... -> n`links`, which has the address.
  const auto chain = [](int links, bool address_at_end) {
    std::vector<std::string> answers;
    for (int i = 0; i < links; ++i) {
      answers.push_back(
          cname_record(wire("n" + std::to_string(i) + ".test"), wire("n" + std::to_string(i + 1) + ".test")));
    }
    if (address_at_end)
      answers.push_back(a_record(wire("n" + std::to_string(links) + ".test"), ip(5, 5, 5, 5)));
    return response("n0.test", answers);
  };
  auto sixteen = parse(chain(16, true), "n0.test");
  ASSERT_TRUE(sixteen) << sixteen.error().message;
  EXPECT_EQ(*sixteen, Addresses{ip(5, 5, 5, 5)});

  const Error seventeen = error_of(parse(chain(17, true), "n0.test"));
  EXPECT_EQ(seventeen.code, ErrorCode::kUnavailable);
  EXPECT_EQ(seventeen.message, "DNS answer for n0.test has a CNAME chain longer than 16");

  const Error dangling = error_of(parse(chain(3, false), "n0.test"));
  EXPECT_EQ(dangling.code, ErrorCode::kNotFound);
  EXPECT_EQ(dangling.message, "DNS: n0.test has no IPv4 address");

  const std::string loop = response(
      "a.test", {cname_record(wire("a.test"), wire("b.test")), cname_record(wire("b.test"), wire("a.test"))});
  EXPECT_EQ(error_of(parse(loop, "a.test")).code, ErrorCode::kUnavailable);
  const std::string self =
      response("a.test", {cname_record(pointer(kQuestionOffset), pointer(kQuestionOffset))});
  EXPECT_EQ(error_of(parse(self, "a.test")).code, ErrorCode::kUnavailable);
}

// ---------------------------------------------------------------------------------------------------------------
// Hostile bytes

TEST(ParseAAnswers, SurvivesGarbageAndMutations) {
  std::mt19937 random(1035);
  for (int round = 0; round < 5000; ++round) {
    std::string bytes(random() % 600, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    if (bytes.size() >= 4) {
      bytes[0] = 0;
      bytes[1] = 7;
      bytes[2] = static_cast<char>(0x81);
      bytes[3] = static_cast<char>(0x80 | (random() % 2 == 0 ? 0 : random() % 16));
    }
    auto result = parse(bytes, "allowed.test");
    ASSERT_TRUE(!result || !result->empty());
  }

  const std::string answer = read_hex_fixture("dnsmasq-a-www.allowed.test.hex");
  for (std::size_t at = 0; at < answer.size(); ++at) {
    for (int value : {0x00, 0x01, 0x03, 0x0c, 0x3f, 0x40, 0x80, 0xc0, 0xff}) {
      std::string mutated = answer;
      mutated[at] = static_cast<char>(value);
      auto result = parse_a_answers(mutated, 0x0102, "www.allowed.test");
      ASSERT_TRUE(!result || !result->empty());
    }
  }
}

}  // namespace
}  // namespace cellblock::net
