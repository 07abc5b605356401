// The hostname peek of the egress proxy (traffic_peek.h): HTTP Host and TLS SNI from real client bytes
// (tests/fixtures/tls, captured from OpenSSL, curl and node), from hand-built hellos and heads, at every
// truncation, and from hostile or foreign bytes.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hex_fixture.h"
#include "net/hostname.h"
#include "net/traffic_peek.h"

namespace cellblock::net {
namespace {

std::string status_name(PeekStatus status) {
  switch (status) {
    case PeekStatus::kNeedMore:
      return "kNeedMore";
    case PeekStatus::kFound:
      return "kFound";
    case PeekStatus::kNoHostname:
      return "kNoHostname";
    case PeekStatus::kNotThisProtocol:
      return "kNotThisProtocol";
  }
  return "?";
}

std::string describe(const PeekResult& result) {
  return status_name(result.status) + " hostname=\"" + result.hostname +
         "\" ech=" + (result.encrypted_client_hello ? "yes" : "no") + " reason=\"" +
         std::string(result.reason) + "\"";
}

std::string read_hex_fixture(const std::string& name) {
  return fixtures::read_hex_fixture("tls", name);
}

bool same(const PeekResult& a, const PeekResult& b) {
  return a.status == b.status && a.hostname == b.hostname &&
         a.encrypted_client_hello == b.encrypted_client_hello && a.reason == b.reason;
}

// Every proper prefix of `bytes` is a valid beginning: the peek must ask for more, never guess; both a fresh
// peek over the prefix and one peek fed the growing prefixes in turn, which then agrees with the one-shot
// answer for all the bytes.
template <class Peek>
void expect_need_more_for_every_prefix(std::string_view bytes) {
  Peek incremental;
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    const PeekResult fresh = Peek().peek(bytes.substr(0, size));
    ASSERT_EQ(fresh.status, PeekStatus::kNeedMore) << "prefix of " << size << " bytes: " << describe(fresh);
    const PeekResult fed = incremental.peek(bytes.substr(0, size));
    ASSERT_EQ(fed.status, PeekStatus::kNeedMore) << "fed up to " << size << " bytes: " << describe(fed);
  }
  const PeekResult fed = incremental.peek(bytes);
  const PeekResult fresh = Peek().peek(bytes);
  EXPECT_TRUE(same(fed, fresh)) << describe(fed) << " vs " << describe(fresh);
}

// `bytes` fed to one peek in chunks of random sizes: the first answer that is not kNeedMore, or kNeedMore.
template <class Peek>
PeekResult fed_in_chunks(std::string_view bytes, std::mt19937& random) {
  Peek peek;
  std::size_t size = 0;
  while (true) {
    const PeekResult result = peek.peek(bytes.substr(0, size));
    if (result.status != PeekStatus::kNeedMore || size == bytes.size()) return result;
    size = std::min(bytes.size(), size + 1 + random() % 64);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Building TLS hellos

std::string u8(std::size_t value) {
  return std::string(1, static_cast<char>(value));
}
std::string u16(std::size_t value) {
  return u8(value >> 8) + u8(value & 0xff);
}
std::string u24(std::size_t value) {
  return u8(value >> 16) + u16(value & 0xffff);
}

struct Extension {
  std::uint16_t type = 0;
  std::string data;
};

Extension server_name(std::string_view name) {
  const std::string entry = u8(0) + u16(name.size()) + std::string(name);
  return Extension{0, u16(entry.size()) + entry};
}

Extension padding(std::size_t size) {
  return Extension{21, std::string(size, '\0')};
}

// A TLS 1.3-style ClientHello body with these extensions.
std::string client_hello_body(const std::vector<Extension>& extensions) {
  std::string body = u16(0x0303) + std::string(32, 'r') + u8(32) + std::string(32, 's');
  body += u16(6) + u16(0x1301) + u16(0x1302) + u16(0x1303);
  body += u8(1) + u8(0);
  std::string block;
  for (const Extension& extension : extensions)
    block += u16(extension.type) + u16(extension.data.size()) + extension.data;
  return body + u16(block.size()) + block;
}

std::string handshake_message(const std::string& body, std::uint8_t type = 1) {
  return u8(type) + u24(body.size()) + body;
}

// `handshake` framed in records of at most `fragment` bytes each.
std::string records(std::string_view handshake, std::size_t fragment = 16384, std::uint16_t version = 0x0301,
                    std::uint8_t content_type = 22) {
  std::string out;
  for (std::size_t at = 0; at < handshake.size(); at += fragment) {
    const std::string_view piece = handshake.substr(at, fragment);
    out += u8(content_type) + u16(version) + u16(piece.size()) + std::string(piece);
  }
  return out;
}

std::string hello_with(const std::vector<Extension>& extensions) {
  return records(handshake_message(client_hello_body(extensions)));
}

// The handshake bytes of a captured single-record hello.
std::string handshake_of(std::string_view single_record) {
  return std::string(single_record.substr(5));
}

// ---------------------------------------------------------------------------------------------------------------
// TLS: real clients

struct Capture {
  const char* file;
  PeekStatus status;
  const char* hostname;
};

class RealClientHello : public testing::TestWithParam<Capture> {};

TEST_P(RealClientHello, GivesTheServerNameOnlyWhenComplete) {
  const Capture& capture = GetParam();
  const std::string hello = read_hex_fixture(capture.file);
  ASSERT_GT(hello.size(), 200u);

  const PeekResult result = peek_tls_sni(hello);
  EXPECT_EQ(result.status, capture.status) << describe(result);
  EXPECT_EQ(result.hostname, capture.hostname);
  EXPECT_FALSE(result.encrypted_client_hello);
  expect_need_more_for_every_prefix<TlsSniPeek>(hello);

  // What follows the hello (a ChangeCipherSpec, early data) does not change the answer.
  const PeekResult followed = peek_tls_sni(hello + "\x14\x03\x03\x00\x01\x01" + "\x17\x03\x03\x00\x05hello");
  EXPECT_EQ(followed.status, capture.status) << describe(followed);
  EXPECT_EQ(followed.hostname, capture.hostname);

  // A TLS client talking to port 80 is not HTTP, from its first byte.
  EXPECT_EQ(peek_http_host(hello).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_http_host(hello.substr(0, 1)).status, PeekStatus::kNotThisProtocol);
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, RealClientHello,
    testing::Values(Capture{"openssl3-s_client-allowed.test.hex", PeekStatus::kFound, "allowed.test"},
                    Capture{"curl7.88-api.allowed.test.hex", PeekStatus::kFound, "api.allowed.test"},
                    Capture{"node20-www.allowed.test.hex", PeekStatus::kFound, "www.allowed.test"},
                    Capture{"openssl3-s_client-allowed.test-two-records.hex", PeekStatus::kFound,
                            "allowed.test"},
                    Capture{"openssl3-s_client-noservername.hex", PeekStatus::kNoHostname, ""}),
    [](const testing::TestParamInfo<Capture>& info) {
      std::string name;
      for (const char* c = info.param.file; *c != '\0' && std::string_view(c) != ".hex"; ++c) {
        name.push_back(std::isalnum(static_cast<unsigned char>(*c)) ? *c : '_');
      }
      return name;
    });

TEST(PeekTlsSni, ReassemblesARealHelloCutAnywhere) {
  const std::string handshake = handshake_of(read_hex_fixture("curl7.88-api.allowed.test.hex"));
  for (std::size_t cut = 1; cut < handshake.size(); ++cut) {
    const std::string two_records = records(handshake.substr(0, cut)) + records(handshake.substr(cut));
    const PeekResult result = peek_tls_sni(two_records);
    ASSERT_EQ(result.status, PeekStatus::kFound) << "cut at " << cut << ": " << describe(result);
    ASSERT_EQ(result.hostname, "api.allowed.test");
  }
}

TEST(PeekTlsSni, ReassemblesOneByteRecords) {
  const std::string split = records(handshake_of(read_hex_fixture("node20-www.allowed.test.hex")), 1);
  const PeekResult result = peek_tls_sni(split);
  EXPECT_EQ(result.status, PeekStatus::kFound) << describe(result);
  EXPECT_EQ(result.hostname, "www.allowed.test");
  expect_need_more_for_every_prefix<TlsSniPeek>(split);
}

TEST(PeekTlsSni, AcceptsEveryRecordVersionClientsUse) {
  const std::string handshake = handshake_message(client_hello_body({server_name("allowed.test")}));
  for (std::uint16_t version : {0x0300, 0x0301, 0x0302, 0x0303, 0x0304}) {
    EXPECT_EQ(peek_tls_sni(records(handshake, 16384, version)).hostname, "allowed.test") << version;
  }
  EXPECT_EQ(peek_tls_sni(records(handshake, 16384, 0x0305)).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(records(handshake, 16384, 0x0201)).status, PeekStatus::kNotThisProtocol);
}

// ---------------------------------------------------------------------------------------------------------------
// TLS: large hellos and the cap

TEST(PeekTlsSni, ReadsAHelloLargerThanOneRecord) {
  // Bigger than a record can carry (2^14), so it must span two; the name sits after the padding.
  const std::string hello = hello_with({padding(20000), server_name("big.allowed.test")});
  ASSERT_GT(hello.size(), 20000u);
  const PeekResult result = peek_tls_sni(hello);
  EXPECT_EQ(result.status, PeekStatus::kFound) << describe(result);
  EXPECT_EQ(result.hostname, "big.allowed.test");
  for (std::size_t size :
       {std::size_t{0}, std::size_t{9}, std::size_t{16389}, std::size_t{16390}, hello.size() - 1}) {
    EXPECT_EQ(peek_tls_sni(std::string_view(hello).substr(0, size)).status, PeekStatus::kNeedMore) << size;
  }
}

TEST(PeekTlsSni, ReadsAPostQuantumSizedHello) {
  // X25519MLKEM768 key shares make hellos of ~1.8 KiB, more than one TCP segment on small MTUs.
  const Extension key_share{51, u16(1220) + u16(0x11ec) + u16(1216) + std::string(1216, 'k')};
  const std::string hello = hello_with({server_name("pq.allowed.test"), key_share, padding(400)});
  ASSERT_GT(hello.size(), 1700u);
  EXPECT_EQ(peek_tls_sni(hello).hostname, "pq.allowed.test");
  expect_need_more_for_every_prefix<TlsSniPeek>(hello);
}

TEST(PeekTlsSni, RefusesHellosOverTheCap) {
  // Declared too large: refused as soon as the handshake header is in.
  const std::string huge = hello_with({padding(70000), server_name("allowed.test")});
  EXPECT_EQ(peek_tls_sni(std::string_view(huge).substr(0, 9)).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(huge).reason, "TLS ClientHello over 64 KiB");

  // Small enough, but in records so small that their headers push it over 64 KiB of input.
  const std::string fragmented =
      records(handshake_message(client_hello_body({padding(20000), server_name("allowed.test")})), 2);
  ASSERT_GT(fragmented.size(), kClientHelloLimit);
  EXPECT_EQ(peek_tls_sni(fragmented).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(std::string_view(fragmented).substr(0, kClientHelloLimit - 1)).status,
            PeekStatus::kNeedMore);
  EXPECT_EQ(peek_tls_sni(std::string_view(fragmented).substr(0, kClientHelloLimit)).status,
            PeekStatus::kNotThisProtocol);

  // Just under the cap is fine.
  const std::string largest = hello_with({padding(kClientHelloLimit - 200), server_name("allowed.test")});
  ASSERT_LT(largest.size(), kClientHelloLimit);
  EXPECT_EQ(peek_tls_sni(largest).hostname, "allowed.test");
}

// ---------------------------------------------------------------------------------------------------------------
// TLS: the server name

TEST(PeekTlsSni, NormalisesTheServerName) {
  EXPECT_EQ(peek_tls_sni(hello_with({server_name("API.Allowed.TEST.")})).hostname, "api.allowed.test");
  EXPECT_EQ(peek_tls_sni(hello_with({server_name("xn--bcher-kva.example")})).hostname,
            "xn--bcher-kva.example");
  EXPECT_EQ(peek_tls_sni(hello_with({server_name("_dmarc.example")})).hostname, "_dmarc.example");
  const std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') +
                              "." + std::string(61, 'd');
  ASSERT_EQ(longest.size(), 253u);
  EXPECT_EQ(peek_tls_sni(hello_with({server_name(longest)})).hostname, longest);
}

TEST(PeekTlsSni, RefusesInvalidServerNames) {
  for (std::string name :
       {std::string(), std::string("."), std::string("a..b"), std::string("has space.test"),
        std::string("nul\0.test", 9), std::string("tab\t.test"), std::string("a/b.test"),
        std::string("ex*ample.test"), std::string("caf\xc3\xa9.test"), std::string(64, 'a'),
        std::string(254, 'a'), std::string("::1"), std::string("a.test.."),
        std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
            std::string(62, 'd')}) {
    const PeekResult result = peek_tls_sni(hello_with({server_name(name)}));
    EXPECT_EQ(result.status, PeekStatus::kNotThisProtocol) << "\"" << name << "\": " << describe(result);
  }
}

TEST(PeekTlsSni, RequiresExactlyOneHostName) {
  const auto raw_sni = [](std::string list) { return Extension{0, u16(list.size()) + list}; };
  const std::string one = u8(0) + u16(4) + "a.bc";
  const std::string other = u8(0) + u16(4) + "x.yz";
  EXPECT_EQ(peek_tls_sni(hello_with({raw_sni(one)})).hostname, "a.bc");
  EXPECT_EQ(peek_tls_sni(hello_with({raw_sni(one + other)})).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(hello_with({raw_sni(u8(1) + u16(4) + "a.bc")})).status,
            PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(hello_with({raw_sni("")})).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(hello_with({Extension{0, ""}})).status, PeekStatus::kNotThisProtocol);
  // List length disagreeing with the extension length, either way.
  EXPECT_EQ(peek_tls_sni(hello_with({Extension{0, u16(8) + one}})).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(hello_with({Extension{0, u16(6) + one}})).status, PeekStatus::kNotThisProtocol);
  // Name length past the list.
  EXPECT_EQ(peek_tls_sni(hello_with({raw_sni(u8(0) + u16(9) + "a.bc")})).status,
            PeekStatus::kNotThisProtocol);
}

TEST(PeekTlsSni, WithoutServerNameIsNoHostname) {
  const PeekResult without = peek_tls_sni(hello_with({padding(10), Extension{43, u8(2) + u16(0x0304)}}));
  EXPECT_EQ(without.status, PeekStatus::kNoHostname) << describe(without);
  EXPECT_EQ(without.reason, "TLS ClientHello without server_name");

  // A TLS 1.2-era hello may end after the compression methods.
  std::string body = client_hello_body({});
  body.resize(body.size() - 2);
  EXPECT_EQ(peek_tls_sni(records(handshake_message(body))).status, PeekStatus::kNoHostname);
}

TEST(PeekTlsSni, FlagsEncryptedClientHello) {
  const Extension ech{0xfe0d,
                      u8(0) + u16(1) + u16(1) + u8(7) + u16(32) + std::string(32, 'e') + u16(8) + "payload!"};
  const PeekResult with_name = peek_tls_sni(hello_with({server_name("public.example"), ech}));
  EXPECT_EQ(with_name.status, PeekStatus::kFound) << describe(with_name);
  EXPECT_EQ(with_name.hostname, "public.example");
  EXPECT_TRUE(with_name.encrypted_client_hello);

  const PeekResult without_name = peek_tls_sni(hello_with({ech}));
  EXPECT_EQ(without_name.status, PeekStatus::kNoHostname);
  EXPECT_TRUE(without_name.encrypted_client_hello);

  EXPECT_FALSE(peek_tls_sni(hello_with({server_name("public.example")})).encrypted_client_hello);
}

// ---------------------------------------------------------------------------------------------------------------
// TLS: malformed and foreign bytes

TEST(PeekTlsSni, RefusesMalformedHellos) {
  const std::string name_only = client_hello_body({server_name("allowed.test")});
  const auto verdict = [](const std::string& body) {
    return peek_tls_sni(records(handshake_message(body))).status;
  };
  EXPECT_EQ(verdict(name_only), PeekStatus::kFound);

  EXPECT_EQ(peek_tls_sni(hello_with({server_name("a.test"), server_name("b.test")})).status,
            PeekStatus::kNotThisProtocol)
      << "two server_name extensions";
  EXPECT_EQ(peek_tls_sni(hello_with({padding(1), server_name("a.test"), padding(1)})).status,
            PeekStatus::kNotThisProtocol)
      << "any repeated extension";

  std::string wrong_version = name_only;
  wrong_version[0] = 2;
  EXPECT_EQ(verdict(wrong_version), PeekStatus::kNotThisProtocol);

  std::string long_session_id = name_only;
  long_session_id[34] = 33;
  EXPECT_EQ(verdict(long_session_id), PeekStatus::kNotThisProtocol);

  std::string odd_suites = name_only;
  odd_suites[68] = 5;
  EXPECT_EQ(verdict(odd_suites), PeekStatus::kNotThisProtocol);

  std::string no_compression = name_only;
  no_compression[75] = 0;
  EXPECT_EQ(verdict(no_compression), PeekStatus::kNotThisProtocol);

  EXPECT_EQ(verdict(name_only + "x"), PeekStatus::kNotThisProtocol) << "bytes past the extensions";
  EXPECT_EQ(verdict(name_only.substr(0, name_only.size() - 1)), PeekStatus::kNotThisProtocol)
      << "extensions shorter than their length";
  EXPECT_EQ(verdict(name_only.substr(0, 20)), PeekStatus::kNotThisProtocol) << "a body cut short";
}

TEST(PeekTlsSni, RefusesOtherRecordsAndMessages) {
  const std::string handshake = handshake_message(client_hello_body({server_name("allowed.test")}));
  EXPECT_EQ(peek_tls_sni(records(handshake, 16384, 0x0301, 23)).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(records(handshake, 16384, 0x0301, 21)).reason, "not a TLS handshake record");
  EXPECT_EQ(peek_tls_sni(records(handshake_message(client_hello_body({}), 2))).reason,
            "first TLS handshake message is not a ClientHello");

  // Another record type between two fragments of the hello.
  const std::string interrupted = records(handshake.substr(0, 50)) +
                                  records(handshake.substr(50, 10), 16384, 0x0303, 21) +
                                  records(handshake.substr(60));
  EXPECT_EQ(peek_tls_sni(interrupted).status, PeekStatus::kNotThisProtocol);

  // Record lengths: zero, and over 2^14.
  EXPECT_EQ(peek_tls_sni(std::string("\x16\x03\x01\x00\x00", 5)).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(std::string("\x16\x03\x01\x40\x01", 5)).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni(std::string("\x16\x03\x01\x40\x00", 5)).status, PeekStatus::kNeedMore);

  // An SSLv2-compatible hello.
  EXPECT_EQ(peek_tls_sni(std::string("\x80\x2e\x01\x00\x02", 5)).status, PeekStatus::kNotThisProtocol);
}

TEST(PeekTlsSni, RefusesHttpAndOtherProtocolsFromTheFirstByte) {
  for (std::string_view bytes :
       {std::string_view("GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n"), std::string_view("G"),
        std::string_view("SSH-2.0-OpenSSH_9.2\r\n"), std::string_view("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")}) {
    const PeekResult result = peek_tls_sni(bytes);
    EXPECT_EQ(result.status, PeekStatus::kNotThisProtocol) << bytes;
    EXPECT_TRUE(result.hostname.empty());
  }
  EXPECT_EQ(peek_tls_sni("\x16\x04").status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(peek_tls_sni("\x16\x03").status, PeekStatus::kNeedMore);
  EXPECT_EQ(peek_tls_sni("").status, PeekStatus::kNeedMore);
}

TEST(PeekTlsSni, RandomGarbageIsNotTls) {
  std::mt19937 random(20240611);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(1 + random() % 4096, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    const PeekResult result = peek_tls_sni(bytes);
    if (static_cast<std::uint8_t>(bytes[0]) != 22) {
      ASSERT_EQ(result.status, PeekStatus::kNotThisProtocol) << describe(result);
    }
    ASSERT_NE(result.status, PeekStatus::kFound) << describe(result);
  }
}

TEST(PeekTlsSni, MutatedRealHellosNeverGiveAnInvalidName) {
  // Every byte of a real hello replaced by a few values: any verdict but a crash or a name that is not one.
  const std::string hello = read_hex_fixture("openssl3-s_client-allowed.test-two-records.hex");
  for (std::size_t at = 0; at < hello.size(); ++at) {
    for (int value : {0x00, 0x01, 0x16, 0x2e, 0x41, 0x7f, 0x80, 0xff}) {
      std::string mutated = hello;
      mutated[at] = static_cast<char>(value);
      const PeekResult result = peek_tls_sni(mutated);
      if (result.status == PeekStatus::kFound) {
        ASSERT_EQ(normalize_hostname(result.hostname), result.hostname) << "byte " << at << " = " << value;
      } else {
        ASSERT_TRUE(result.hostname.empty());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

PeekResult http(std::string_view head) {
  return peek_http_host(head);
}

std::string host_of(std::string_view head) {
  const PeekResult result = peek_http_host(head);
  EXPECT_EQ(result.status, PeekStatus::kFound) << head << ": " << describe(result);
  return result.hostname;
}

constexpr std::string_view kCurlHead =
    "GET / HTTP/1.1\r\nHost: allowed.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

TEST(PeekHttpHost, ReadsTheHostOfACompleteHead) {
  EXPECT_EQ(host_of(kCurlHead), "allowed.test");
  expect_need_more_for_every_prefix<HttpHostPeek>(kCurlHead);
  // A body or a pipelined request after the head does not matter.
  EXPECT_EQ(host_of(std::string(kCurlHead) + "GET /x HTTP/1.1\r\nHost: other.test\r\n\r\n"), "allowed.test");
}

TEST(PeekHttpHost, DropsThePortAndNormalisesTheName) {
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: allowed.test:8080\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: Allowed.TEST.:80\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: allowed.test:\r\n\r\n"), "allowed.test") << "empty port";
  EXPECT_EQ(host_of("GET / HTTP/1.0\r\nhost:allowed.test\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("POST /upload HTTP/1.1\r\nContent-Length: 3\r\nHOST: \t API.allowed.test \t\r\n\r\nabc"),
            "api.allowed.test");
  EXPECT_EQ(host_of("get / HTTP/1.1\r\nhOsT: allowed.test\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: 198.19.7.10:80\r\n\r\n"), "198.19.7.10");
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nX-Forwarded-Host: evil.test\r\nHost: allowed.test\r\n\r\n"),
            "allowed.test");
}

TEST(PeekHttpHost, GivesIpv6LiteralsWithoutBrackets) {
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), "::1");
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: [FE80::1]\r\n\r\n"), "fe80::1");
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: [::ffff:1.2.3.4]:80\r\n\r\n"), "::ffff:1.2.3.4");
  for (std::string_view host : {"[::1", "[::1]x", "[::1]:x", "[]", "[fe80::1%25eth0]", "[v1.abc]",
                                "[1.2.3.4]", "::1", "[::1]:99999", "[0:0:0:0:0:0:0:0:0]"}) {
    EXPECT_EQ(http("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n").status,
              PeekStatus::kNotThisProtocol)
        << host;
  }
}

TEST(PeekHttpHost, PrefersTheAuthorityOfAnAbsoluteFormTarget) {
  EXPECT_EQ(host_of("GET http://Allowed.test:8080/path?q HTTP/1.1\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("GET HTTPS://allowed.test HTTP/1.1\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("GET http://allowed.test?x HTTP/1.1\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("GET http://[::1]:80/ HTTP/1.1\r\n\r\n"), "::1");
  // The origin server goes by the target's authority (RFC 9112 §3.2.2), so the proxy does too.
  EXPECT_EQ(host_of("GET http://allowed.test/ HTTP/1.1\r\nHost: other.test\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("GET http://allowed.test/ HTTP/1.1\r\nHost:\r\n\r\n"), "allowed.test");

  EXPECT_EQ(http("GET http://user@evil.test/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n").status,
            PeekStatus::kNotThisProtocol);
  EXPECT_EQ(http("GET http://allowed.test@evil.test/ HTTP/1.1\r\n\r\n").status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(http("GET http:///path HTTP/1.1\r\nHost: allowed.test\r\n\r\n").status,
            PeekStatus::kNotThisProtocol);
  // Not absolute form: other schemes and relative targets go by Host.
  EXPECT_EQ(host_of("GET ftp://x/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("OPTIONS * HTTP/1.1\r\nHost: allowed.test\r\n\r\n"), "allowed.test");
  EXPECT_EQ(host_of("CONNECT other.test:443 HTTP/1.1\r\nHost: allowed.test\r\n\r\n"), "allowed.test");
}

TEST(PeekHttpHost, WithoutHostIsNoHostname) {
  const PeekResult missing = http("GET / HTTP/1.0\r\nAccept: */*\r\n\r\n");
  EXPECT_EQ(missing.status, PeekStatus::kNoHostname) << describe(missing);
  EXPECT_EQ(missing.reason, "HTTP request without a Host header");
  EXPECT_EQ(http("GET / HTTP/1.1\r\n\r\n").status, PeekStatus::kNoHostname);
  EXPECT_EQ(http("GET / HTTP/1.1\r\nHost:\r\n\r\n").status, PeekStatus::kNoHostname);
  EXPECT_EQ(http("GET / HTTP/1.1\r\nHost:   \r\n\r\n").status, PeekStatus::kNoHostname);
  EXPECT_EQ(http("GET / HTTP/1.1\r\nHostname: allowed.test\r\n\r\n").status, PeekStatus::kNoHostname);
}

TEST(PeekHttpHost, WaitsForTheWholeHead) {
  EXPECT_EQ(http("").status, PeekStatus::kNeedMore);
  EXPECT_EQ(http("GET / HTTP/1.1\r\nHost: allowed.test\r\n").status, PeekStatus::kNeedMore)
      << "a second Host header could still come";
  EXPECT_EQ(http("GET / HTTP/1.1\r\nHost: allowed.test\r\n\r").status, PeekStatus::kNeedMore);
  const std::string long_target = "GET /" + std::string(8000, 'a') + " HTTP/1.1\r\nHost: a.test\r\n\r\n";
  expect_need_more_for_every_prefix<HttpHostPeek>(long_target);
  EXPECT_EQ(host_of(long_target), "a.test");
}

TEST(PeekHttpHost, RefusesAHeadOverSixteenKiB) {
  std::string head = "GET / HTTP/1.1\r\nHost: allowed.test\r\n";
  while (head.size() < 17 * 1024) head += "X-Filler: " + std::string(100, 'x') + "\r\n";
  const PeekResult result = http(head);
  EXPECT_EQ(result.status, PeekStatus::kNotThisProtocol) << describe(result);
  EXPECT_EQ(result.reason, "HTTP request head over 16 KiB");
  EXPECT_EQ(http(head + "\r\n").status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(http(std::string_view(head).substr(0, kHttpHeadLimit - 1)).status, PeekStatus::kNeedMore);

  // A request line alone as long as the cap.
  EXPECT_EQ(http("GET /" + std::string(kHttpHeadLimit, 'a')).status, PeekStatus::kNotThisProtocol);

  // A head ending exactly at the cap is read; one byte more is not.
  std::string fits = "GET / HTTP/1.1\r\nHost: allowed.test\r\nX-Filler: ";
  fits += std::string(kHttpHeadLimit - fits.size() - 4, 'x') + "\r\n\r\n";
  ASSERT_EQ(fits.size(), kHttpHeadLimit);
  EXPECT_EQ(host_of(fits + "body"), "allowed.test");
  std::string too_long = fits;
  too_long.insert(too_long.size() - 4, "x");
  EXPECT_EQ(http(too_long).status, PeekStatus::kNotThisProtocol);
}

TEST(PeekHttpHost, RefusesWhatIsNotAnHttp1RequestLine) {
  for (std::string_view bytes :
       {std::string_view("\x16\x03\x01\x02\x00", 5), std::string_view("\0\0\0\0", 4),
        std::string_view(" GET /"), std::string_view("\r\nGET / HTTP/1.1\r\n\r\n"),
        std::string_view("GET  / HTTP/1.1\r\n"), std::string_view("GET / HTTP/2.0\r\n"),
        std::string_view("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), std::string_view("GET / HTTP/1.x\r\n"),
        std::string_view("GET / HTTP/1.1 \r\n"), std::string_view("GET / HTTP/1.1\n"),
        std::string_view("GET / http/1.1\r\n"), std::string_view("GET /\x01 HTTP/1.1\r\n"),
        std::string_view("GET / FTP/1.1\r\n"), std::string_view("SSH-2.0-OpenSSH_9.2\r\n"),
        std::string_view("GE(T / HTTP/1.1\r\n"), std::string_view("GET\t/ HTTP/1.1\r\n")}) {
    const PeekResult result = http(bytes);
    EXPECT_EQ(result.status, PeekStatus::kNotThisProtocol)
        << testing::PrintToString(bytes) << ": " << describe(result);
  }
  EXPECT_EQ(http(std::string(40, 'A')).status, PeekStatus::kNotThisProtocol) << "a method longer than any";
  EXPECT_EQ(http(std::string(32, 'A')).status, PeekStatus::kNeedMore);
}

TEST(PeekHttpHost, RefusesMalformedHeaders) {
  for (std::string_view headers :
       {"Host: allowed.test\r\nHost: allowed.test\r\n", "Host: a.test\r\nhost: b.test\r\n",
        "X-A: 1\r\n folded\r\nHost: allowed.test\r\n", "Host: allowed.test\r\n\tfolded\r\n",
        "Host : allowed.test\r\n", "No colon here\r\nHost: allowed.test\r\n", ": empty name\r\n",
        "Host: allowed.test\r\nX-Bad: a\x01z\r\n", "Host: allowed.test\r\nX-Bad: a\nb\r\n",
        "Host: allowed.test\r\nX-Bad: a\rb\r\n", "Host: allowed.test\r\nX-Bad: \x7f\r\n"}) {
    const std::string head = "GET / HTTP/1.1\r\n" + std::string(headers) + "\r\n";
    const PeekResult result = http(head);
    EXPECT_EQ(result.status, PeekStatus::kNotThisProtocol)
        << testing::PrintToString(head) << ": " << describe(result);
  }
  // Field values may hold non-ASCII bytes (obs-text).
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9\r\nHost: allowed.test\r\n\r\n"), "allowed.test");
}

TEST(PeekHttpHost, RefusesHostsThatAreNotNames) {
  for (std::string host :
       {std::string("allowed test"), std::string("allowed.test\x01"), std::string("a\0b", 3),
        std::string("a..b"), std::string(".allowed.test"), std::string("allowed.test:port"),
        std::string("allowed.test:123456"), std::string("allowed.test:65536"), std::string("a:b:80"),
        std::string("user@allowed.test"), std::string("caf\xc3\xa9.test"), std::string("allowed.test/path"),
        std::string(254, 'a'), std::string("%61.test")}) {
    const PeekResult result = http("GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n");
    EXPECT_EQ(result.status, PeekStatus::kNotThisProtocol)
        << testing::PrintToString(host) << ": " << describe(result);
  }
  std::string longest = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                        std::string(61, 'd');
  EXPECT_EQ(host_of("GET / HTTP/1.1\r\nHost: " + longest + ":443\r\n\r\n"), longest);
}

TEST(PeekHttpHost, RandomGarbageIsNotHttp) {
  std::mt19937 random(7);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(1 + random() % 2048, '\0');
    for (char& c : bytes) c = static_cast<char>(random());
    const PeekResult result = http(bytes);
    ASSERT_NE(result.status, PeekStatus::kFound) << describe(result);
    // Almost every random first byte is already not a method character.
    if (bytes[0] == '\0' || static_cast<std::uint8_t>(bytes[0]) >= 0x80) {
      ASSERT_EQ(result.status, PeekStatus::kNotThisProtocol) << describe(result);
    }
  }
}

TEST(PeekHttpHost, MutatedHeadsNeverGiveAnInvalidName) {
  const std::string head = "GET http://a.test/ HTTP/1.1\r\nHost: [::1]:80\r\nAccept: */*\r\n\r\n";
  for (std::size_t at = 0; at < head.size(); ++at) {
    for (int value : {0x00, 0x0a, 0x0d, 0x20, 0x3a, 0x40, 0x5b, 0x5d, 0x2f, 0x41, 0xff}) {
      std::string mutated = head;
      mutated[at] = static_cast<char>(value);
      const PeekResult result = http(mutated);
      if (result.status == PeekStatus::kFound && result.hostname.find(':') == std::string::npos) {
        ASSERT_EQ(normalize_hostname(result.hostname), result.hostname) << testing::PrintToString(mutated);
      } else if (result.status != PeekStatus::kFound) {
        ASSERT_TRUE(result.hostname.empty());
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Peeking a connection as its bytes arrive

TEST(IncrementalPeek, ADribblingClientCostsLinearWork) {
  // One byte per read, up to the caps. Rescanning from the start on every read would take seconds here
  // (billions of steps); each peek looks at each byte once.
  const std::string hello = hello_with({padding(kClientHelloLimit - 300), server_name("slow.allowed.test")});
  ASSERT_LE(hello.size(), kClientHelloLimit);
  TlsSniPeek tls;
  for (std::size_t size = 0; size < hello.size(); ++size) {
    ASSERT_EQ(tls.peek(std::string_view(hello).substr(0, size)).status, PeekStatus::kNeedMore) << size;
  }
  EXPECT_EQ(tls.peek(hello).hostname, "slow.allowed.test");

  // The same in 1-byte records: the reassembly copies each payload byte once.
  const std::string tiny_records =
      records(handshake_message(client_hello_body({padding(9000), server_name("a.test")})), 1);
  ASSERT_LE(tiny_records.size(), kClientHelloLimit);
  TlsSniPeek fragmented;
  for (std::size_t size = 0; size < tiny_records.size(); ++size) {
    ASSERT_EQ(fragmented.peek(std::string_view(tiny_records).substr(0, size)).status, PeekStatus::kNeedMore);
  }
  EXPECT_EQ(fragmented.peek(tiny_records).hostname, "a.test");

  std::string head = "GET /" + std::string(8000, 'p') + " HTTP/1.1\r\n";
  while (head.size() < kHttpHeadLimit - 200) head += "X-Filler: " + std::string(100, 'x') + "\r\n";
  head += "Host: slow.allowed.test\r\n\r\n";
  HttpHostPeek http;
  for (std::size_t size = 0; size < head.size(); ++size) {
    ASSERT_EQ(http.peek(std::string_view(head).substr(0, size)).status, PeekStatus::kNeedMore) << size;
  }
  EXPECT_EQ(http.peek(head).hostname, "slow.allowed.test");

  // A head that never ends: refused once the cap is reached, and from then on.
  const std::string endless = "GET /" + std::string(kHttpHeadLimit, 'a');
  HttpHostPeek never;
  for (std::size_t size = 0; size < kHttpHeadLimit; size += 7) {
    ASSERT_EQ(never.peek(std::string_view(endless).substr(0, size)).status, PeekStatus::kNeedMore) << size;
  }
  EXPECT_EQ(never.peek(endless).reason, "HTTP request head over 16 KiB");
  EXPECT_EQ(never.peek(endless + "\r\n\r\n").status, PeekStatus::kNotThisProtocol);
}

TEST(IncrementalPeek, TheFirstVerdictSticks) {
  TlsSniPeek tls;
  const std::string hello = hello_with({server_name("allowed.test")});
  EXPECT_EQ(tls.peek(hello).hostname, "allowed.test");
  EXPECT_EQ(tls.peek(hello + "\x17\x03\x03\x00\x02hi").hostname, "allowed.test");

  TlsSniPeek not_tls;
  EXPECT_EQ(not_tls.peek("GET").status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(not_tls.peek(std::string_view("GET").substr(0, 1)).status, PeekStatus::kNotThisProtocol);

  HttpHostPeek http;
  const std::string head = "GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
  EXPECT_EQ(http.peek(head).hostname, "allowed.test");
  EXPECT_EQ(http.peek(head + "GET / HTTP/1.1\r\nHost: other.test\r\n\r\n").hostname, "allowed.test");
  HttpHostPeek binary;
  EXPECT_EQ(binary.peek(std::string("\x16\x03", 2)).status, PeekStatus::kNotThisProtocol);
  EXPECT_EQ(binary.peek(std::string("\x16\x03\x01", 3)).status, PeekStatus::kNotThisProtocol);
}

TEST(IncrementalPeek, ChunkingNeverChangesTheAnswer) {
  // Real and mutated hellos and heads, fed in random chunks, answer as the one-shot peek over all the bytes.
  std::mt19937 random(443);
  std::vector<std::string> hellos;
  for (const char* file :
       {"openssl3-s_client-allowed.test.hex", "curl7.88-api.allowed.test.hex", "node20-www.allowed.test.hex",
        "openssl3-s_client-noservername.hex", "openssl3-s_client-allowed.test-two-records.hex"}) {
    hellos.push_back(read_hex_fixture(file));
  }
  hellos.push_back(hello_with({padding(20000), server_name("big.allowed.test")}));
  const std::vector<std::string> heads = {
      std::string(kCurlHead), "GET http://a.test/ HTTP/1.1\r\nHost: [::1]:80\r\nAccept: */*\r\n\r\n",
      "POST /x HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"};
  for (int round = 0; round < 3000; ++round) {
    const bool tls = round % 2 == 0;
    std::string bytes = tls ? hellos[random() % hellos.size()] : heads[random() % heads.size()];
    if (round % 3 != 0) bytes[random() % bytes.size()] = static_cast<char>(random());
    if (round % 5 == 0) bytes.resize(random() % bytes.size());
    const PeekResult whole = tls ? peek_tls_sni(bytes) : peek_http_host(bytes);
    const PeekResult chunked =
        tls ? fed_in_chunks<TlsSniPeek>(bytes, random) : fed_in_chunks<HttpHostPeek>(bytes, random);
    ASSERT_TRUE(same(whole, chunked))
        << "round " << round << ": " << describe(whole) << " vs " << describe(chunked);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The hostname shape shared by the peek and the resolver

TEST(NormalizeHostname, KeepsHostnamesInOneForm) {
  EXPECT_EQ(normalize_hostname("Allowed.Test."), "allowed.test");
  EXPECT_EQ(normalize_hostname("a"), "a");
  EXPECT_EQ(normalize_hostname("1.2.3.4"), "1.2.3.4");
  EXPECT_EQ(normalize_hostname("under_score-and-hyphen.test"), "under_score-and-hyphen.test");
  EXPECT_EQ(normalize_hostname(std::string(63, 'x') + ".test"), std::string(63, 'x') + ".test");
  for (std::string_view bad :
       {"", ".", "..", "a..b", ".a", "a.test..", "a b", "a\tb", "*.test", "a/b", "::1"}) {
    EXPECT_EQ(normalize_hostname(bad), std::nullopt) << bad;
  }
  EXPECT_EQ(normalize_hostname(std::string(64, 'x') + ".test"), std::nullopt);
  EXPECT_EQ(normalize_hostname(std::string(254, 'x')), std::nullopt);
}

}  // namespace
}  // namespace cellblock::net
