// The streaming multipart/form-data parser: SDK upload shapes, boundaries split across feeds at every offset,
// binary data that looks like a boundary, limits and malformed input, a 50 MB part in constant memory, and a
// body produced by an independent implementation (node's undici FormData).

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "http/codec/multipart.h"

namespace cellblock::http {
namespace {

constexpr std::string_view kBoundary = "----formdata-undici-0123456789";

struct Part {
  PartHeaders headers;
  std::string data;
  bool ended = false;
};

class Recorder : public MultipartCallbacks {
 public:
  std::vector<Part> parts;
  std::size_t begins = 0;

  Status on_part_begin(const PartHeaders& headers) override {
    EXPECT_TRUE(parts.empty() || parts.back().ended) << "part began before the previous one ended";
    ++begins;
    parts.push_back(Part{headers, "", false});
    return {};
  }
  Status on_part_data(std::string_view bytes) override {
    EXPECT_FALSE(bytes.empty());
    EXPECT_FALSE(parts.empty());
    EXPECT_FALSE(parts.back().ended);
    parts.back().data.append(bytes);
    return {};
  }
  Status on_part_end() override {
    EXPECT_FALSE(parts.back().ended);
    parts.back().ended = true;
    return {};
  }
};

std::string file_part(std::string_view name, std::string_view filename, std::string_view data,
                      std::string_view boundary = kBoundary) {
  std::string out = "--" + std::string(boundary) + "\r\n";
  out += "Content-Disposition: form-data; name=\"" + std::string(name) + "\"; filename=\"" +
         std::string(filename) + "\"\r\n";
  out += "Content-Type: application/octet-stream\r\n\r\n";
  out += data;
  out += "\r\n";
  return out;
}

std::string closing(std::string_view boundary = kBoundary) {
  return "--" + std::string(boundary) + "--\r\n";
}

struct ParseOutcome {
  Status status;
  std::vector<Part> parts;
};

ParseOutcome parse_in_pieces(std::string_view body, const std::vector<std::size_t>& cuts,
                             std::string_view boundary = kBoundary, MultipartLimits limits = {}) {
  MultipartParser parser(boundary, limits);
  Recorder recorder;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    auto status = parser.feed(body.substr(from, cut - from), recorder);
    if (!status) return {status, std::move(recorder.parts)};
    from = cut;
  }
  auto status = parser.feed(body.substr(from), recorder);
  if (!status) return {status, std::move(recorder.parts)};
  return {parser.finish(), std::move(recorder.parts)};
}

ParseOutcome parse(std::string_view body, std::string_view boundary = kBoundary,
                   MultipartLimits limits = {}) {
  return parse_in_pieces(body, {}, boundary, limits);
}

// ---------------------------------------------------------------------------------------------------------------
// Content-Type

TEST(MultipartBoundary, BareQuotedAndCaseInsensitive) {
  EXPECT_EQ(boundary_from_content_type("multipart/form-data; boundary=----formdata-undici-0123").value(),
            "----formdata-undici-0123");
  EXPECT_EQ(boundary_from_content_type("Multipart/Form-Data; BOUNDARY=\"a b:c=d\"").value(), "a b:c=d");
  EXPECT_EQ(boundary_from_content_type("multipart/form-data;charset=utf-8;  Boundary=xyz  ").value(), "xyz");
  EXPECT_EQ(boundary_from_content_type("multipart/form-data; boundary=\"q\\\"x\"").value(), "q\"x");
}

TEST(MultipartBoundary, MissingOrWrong) {
  auto missing = boundary_from_content_type("multipart/form-data");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kInvalidArgument);
  auto empty = boundary_from_content_type("multipart/form-data; boundary=\"\"");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
  auto unterminated = boundary_from_content_type("multipart/form-data; boundary=\"abc");
  ASSERT_FALSE(unterminated);
  EXPECT_EQ(unterminated.error().code, ErrorCode::kInvalidArgument);
  auto too_long = boundary_from_content_type("multipart/form-data; boundary=" + std::string(71, 'a'));
  ASSERT_FALSE(too_long);
  EXPECT_EQ(too_long.error().code, ErrorCode::kInvalidArgument);
  auto json = boundary_from_content_type("application/json; boundary=abc");
  ASSERT_FALSE(json);
  EXPECT_EQ(json.error().code, ErrorCode::kUnsupportedMedia);
}

// ---------------------------------------------------------------------------------------------------------------
// SDK shapes

TEST(Multipart, SingleFileAsTheSdkSendsIt) {
  const std::string body = file_part("file", "/home/user/a.txt", "hello\n") + closing();
  auto outcome = parse(body);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 1u);
  const Part& part = outcome.parts[0];
  EXPECT_EQ(part.headers.name, "file");
  EXPECT_EQ(part.headers.filename, "/home/user/a.txt");
  EXPECT_EQ(part.headers.content_type, "application/octet-stream");
  EXPECT_EQ(part.data, "hello\n");
  EXPECT_TRUE(part.ended);
  ASSERT_EQ(part.headers.fields.size(), 2u);
  EXPECT_EQ(part.headers.fields[0].first, "content-disposition");
}

TEST(Multipart, TwoFilesAndOtherFields) {
  std::string body = "--" + std::string(kBoundary) +
                     "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n" + "just a field\r\n";
  body += file_part("file", "/home/user/b.txt", "bbb");
  body += file_part("file", "c.txt", "ccc\r\n");  // the part's own trailing CRLF is data
  body += file_part("other", "d.txt", "ignored by the handler");
  body += closing();
  auto outcome = parse(body);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 4u);
  EXPECT_EQ(outcome.parts[0].headers.name, "note");
  EXPECT_FALSE(outcome.parts[0].headers.filename.has_value());
  EXPECT_EQ(outcome.parts[0].headers.content_type, "");
  EXPECT_EQ(outcome.parts[0].data, "just a field");
  EXPECT_EQ(outcome.parts[1].headers.filename, "/home/user/b.txt");
  EXPECT_EQ(outcome.parts[1].data, "bbb");
  EXPECT_EQ(outcome.parts[2].headers.filename, "c.txt");
  EXPECT_EQ(outcome.parts[2].data, "ccc\r\n");
  EXPECT_EQ(outcome.parts[3].headers.name, "other");
  EXPECT_EQ(outcome.parts[3].data, "ignored by the handler");
}

TEST(Multipart, EmptyPartsAndEmptyFilename) {
  const std::string body =
      file_part("file", "/home/user/empty.txt", "") + file_part("file", "", "x") + closing();
  auto outcome = parse(body);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 2u);
  EXPECT_EQ(outcome.parts[0].data, "");
  EXPECT_TRUE(outcome.parts[0].ended);
  ASSERT_TRUE(outcome.parts[1].headers.filename.has_value());
  EXPECT_EQ(*outcome.parts[1].headers.filename, "");
  EXPECT_EQ(outcome.parts[1].data, "x");
}

TEST(Multipart, PartWithoutHeaderFieldsIsRejected) {
  // RFC 7578 requires Content-Disposition on every part.
  const std::string body = "--" + std::string(kBoundary) + "\r\n\r\ndata\r\n" + closing();
  auto outcome = parse(body);
  ASSERT_FALSE(outcome.status);
  EXPECT_EQ(outcome.status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(outcome.status.error().message.find("Content-Disposition"), std::string::npos);
}

TEST(Multipart, PreambleAndEpilogueAreIgnored) {
  const std::string body = "This is the preamble.\r\n--" + std::string(kBoundary) +
                           "x is not a boundary\r\n" + file_part("file", "a", "A") + closing() +
                           "epilogue --" + std::string(kBoundary) +
                           "\r\nContent-Disposition: form-data; name=\"late\"\r\n\r\nz\r\n";
  auto outcome = parse(body);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 1u);
  EXPECT_EQ(outcome.parts[0].data, "A");
}

TEST(Multipart, LeadingCrlfAndTransportPaddingAndNoFinalCrlf) {
  std::string body = "\r\n--" + std::string(kBoundary) + " \t\r\n";
  body += "content-disposition: FORM-DATA; NAME=file; Filename=\"x.bin\"\r\n\r\n";
  body += "payload\r\n--" + std::string(kBoundary) + "--";  // no CRLF after the close delimiter
  auto outcome = parse(body);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 1u);
  EXPECT_EQ(outcome.parts[0].headers.name, "file");
  EXPECT_EQ(outcome.parts[0].headers.filename, "x.bin");
  EXPECT_EQ(outcome.parts[0].data, "payload");
}

TEST(Multipart, BinaryDataThatResemblesTheBoundary) {
  const std::string b(kBoundary);
  std::string data = "\r\n--\r\n";
  data += "\r\n--" + b.substr(0, b.size() - 1) + "\r\n";  // boundary minus its last character
  data += "\r\n--" + b + "X\r\n";                         // boundary followed by a non-delimiter character
  data += "\r\n--" + b + " x\r\n";                        // padding followed by text
  data += "\r\n--" + b + "\r";                            // boundary then CR without LF
  data += "--" + b + "\r\n";                              // a boundary not preceded by CRLF
  data += std::string("\0\xff\r\n\r\n", 6);
  data += "\r\n-";
  const std::string body = file_part("file", "bin", data) + closing();
  auto outcome = parse(body);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 1u);
  EXPECT_EQ(outcome.parts[0].data, data);
}

TEST(Multipart, HeaderParameterEncodings) {
  const std::string b(kBoundary);
  std::string body;
  body +=
      "--" + b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\\\"b.txt\"\r\n\r\n1\r\n";
  body += "--" + b +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\dir\\a.txt\"\r\n\r\n2\r\n";
  body += "--" + b +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"fallback.txt\"; "
          "filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\n3\r\n";
  body += "--" + b +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename*=iso-8859-1'en'%E9.txt\r\n\r\n4\r\n";
  body += "--" + b +
          "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"caf\xc3\xa9 ; x.txt\"\r\n" +
          "Content-Type: text/plain;\r\n charset=utf-8\r\n\r\n5\r\n";
  body += closing();
  auto outcome = parse(body);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 5u);
  EXPECT_EQ(outcome.parts[0].headers.filename, "a\"b.txt");
  EXPECT_EQ(outcome.parts[1].headers.filename, "C:\\dir\\a.txt");
  EXPECT_EQ(outcome.parts[2].headers.filename, "\xe2\x82\xac rates.txt");
  EXPECT_EQ(outcome.parts[3].headers.filename, "\xc3\xa9.txt");
  EXPECT_EQ(outcome.parts[4].headers.filename, "caf\xc3\xa9 ; x.txt");
  EXPECT_EQ(outcome.parts[4].headers.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(outcome.parts[4].data, "5");
}

// ---------------------------------------------------------------------------------------------------------------
// Splitting

std::string small_body() {
  const std::string b(kBoundary);
  return "pre\r\n" + file_part("file", "/home/user/b.txt", "b\r\n--" + b.substr(0, 5) + "\r\n") +
         file_part("file", "c.txt", "") + file_part("x", "y", "\r\n--" + b + "-z") + closing() + "epi";
}

void expect_small_body_parts(const ParseOutcome& outcome) {
  const std::string b(kBoundary);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 3u);
  EXPECT_EQ(outcome.parts[0].headers.filename, "/home/user/b.txt");
  EXPECT_EQ(outcome.parts[0].data, "b\r\n--" + b.substr(0, 5) + "\r\n");
  EXPECT_EQ(outcome.parts[1].headers.filename, "c.txt");
  EXPECT_EQ(outcome.parts[1].data, "");
  EXPECT_EQ(outcome.parts[2].headers.name, "x");
  EXPECT_EQ(outcome.parts[2].data, "\r\n--" + b + "-z");
  for (const Part& part : outcome.parts) EXPECT_TRUE(part.ended);
}

TEST(Multipart, SplitAtEveryOffset) {
  const std::string body = small_body();
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    SCOPED_TRACE("cut at " + std::to_string(cut));
    expect_small_body_parts(parse_in_pieces(body, {cut}));
  }
}

TEST(Multipart, SplitAtEveryPairOfOffsets) {
  const std::string body = small_body();
  for (std::size_t first = 0; first <= body.size(); first += 3) {
    for (std::size_t second = first; second <= body.size(); ++second) {
      auto outcome = parse_in_pieces(body, {first, second});
      ASSERT_TRUE(outcome.status) << first << "," << second << ": " << outcome.status.error().message;
      ASSERT_EQ(outcome.parts.size(), 3u) << first << "," << second;
      ASSERT_EQ(outcome.parts[2].data, "\r\n--" + std::string(kBoundary) + "-z") << first << "," << second;
    }
  }
}

TEST(Multipart, OneByteAtATime) {
  const std::string body = small_body();
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  expect_small_body_parts(parse_in_pieces(body, cuts));
}

// ---------------------------------------------------------------------------------------------------------------
// Errors and limits

TEST(Multipart, MissingFinalBoundary) {
  const std::string full = file_part("file", "a", "data") + closing();
  // Every truncation before the closing "--" completes must fail at finish().
  const std::size_t close_end = full.size() - 2;  // "--boundary--" done, only the optional CRLF left
  for (std::size_t cut = 0; cut < close_end; ++cut) {
    auto outcome = parse(std::string_view(full).substr(0, cut));
    ASSERT_FALSE(outcome.status) << "cut at " << cut;
    EXPECT_EQ(outcome.status.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_TRUE(parse(std::string_view(full).substr(0, close_end)).status);
  auto empty = parse("");
  ASSERT_FALSE(empty.status);
  EXPECT_NE(empty.status.error().message.find("closing boundary"), std::string::npos);
}

TEST(Multipart, MalformedHeaderLines) {
  const std::string open = "--" + std::string(kBoundary) + "\r\n";
  const std::vector<std::string> bad = {
      "no colon here\r\n\r\n",
      ": empty name\r\n\r\n",
      "Bad Name: x\r\n\r\n",
      " continuation first\r\n\r\n",
      "Content-Disposition: form-data; name=\"unterminated\r\n\r\n",
      "Content-Disposition: ; name=x\r\n\r\n",
      "Content-Disposition: form-data; name\r\n\r\n",
      "Content-Disposition: form-data; name=\"a\" junk\r\n\r\n",
      "Content-Disposition: form-data; name=a; filename*=UTF-8''%ZZ\r\n\r\n",
      "Content-Disposition: form-data; name=a; filename*=no-quotes\r\n\r\n",
      "Content-Disposition: form-data; name=a; filename*=koi8-r''x\r\n\r\n",
      "Content-Type: text/plain\r\n\r\n",
  };
  for (const std::string& headers : bad) {
    auto outcome = parse(open + headers + "data\r\n" + closing());
    ASSERT_FALSE(outcome.status) << headers;
    EXPECT_EQ(outcome.status.error().code, ErrorCode::kInvalidArgument) << headers;
    EXPECT_TRUE(outcome.parts.empty()) << headers;
  }
  auto outcome = parse(open + "no colon\r\n\r\n" + closing());
  EXPECT_NE(outcome.status.error().message.find("'no colon'"), std::string::npos)
      << outcome.status.error().message;
}

TEST(Multipart, HeaderBlockLimit) {
  const std::string open = "--" + std::string(kBoundary) + "\r\n";
  const std::string disposition = "Content-Disposition: form-data; name=\"file\"\r\n";
  MultipartLimits limits;
  limits.max_header_block = 200;
  // Exactly at the limit is fine.
  const std::string filler_name = "X-Filler: ";
  const std::size_t fill = 200 - disposition.size() - 2 - filler_name.size() - 2;
  const std::string at_limit = disposition + filler_name + std::string(fill, 'f') + "\r\n\r\n";
  ASSERT_EQ(at_limit.size(), 200u);
  EXPECT_TRUE(parse(open + at_limit + "d\r\n" + closing(), kBoundary, limits).status);
  const std::string over = disposition + filler_name + std::string(fill + 1, 'f') + "\r\n\r\n";
  auto outcome = parse(open + over + "d\r\n" + closing(), kBoundary, limits);
  ASSERT_FALSE(outcome.status);
  EXPECT_EQ(outcome.status.error().code, ErrorCode::kInvalidArgument);
  // An endless header line fails as soon as it passes the limit, without waiting for a CRLF.
  MultipartParser parser(kBoundary);
  Recorder recorder;
  ASSERT_TRUE(parser.feed(open + "X-Long: ", recorder));
  Status status;
  for (int i = 0; i < 100 && status; ++i) status = parser.feed(std::string(1024, 'a'), recorder);
  ASSERT_FALSE(status);
  EXPECT_LE(parser.buffered_bytes(), 17u * 1024);
}

TEST(Multipart, PartCountLimit) {
  MultipartLimits limits;
  limits.max_parts = 2;
  std::string body = file_part("file", "1", "a") + file_part("file", "2", "b");
  EXPECT_TRUE(parse(body + closing(), kBoundary, limits).status);
  auto outcome = parse(body + file_part("file", "3", "c") + closing(), kBoundary, limits);
  ASSERT_FALSE(outcome.status);
  EXPECT_EQ(outcome.parts.size(), 2u);
}

class FailingSink : public Recorder {
 public:
  Status on_part_data(std::string_view bytes) override {
    if (++calls_ == 2) return fail(ErrorCode::kNotEnoughSpace, "disk full");
    return Recorder::on_part_data(bytes);
  }

 private:
  int calls_ = 0;
};

TEST(Multipart, ConsumerErrorAbortsAndSticks) {
  const std::string body = file_part("file", "a", std::string(100, 'x')) + closing();
  MultipartParser parser(kBoundary);
  FailingSink sink;
  const std::size_t data_start = body.find("\r\n\r\n") + 4;
  ASSERT_TRUE(parser.feed(body.substr(0, data_start + 50), sink));
  EXPECT_EQ(sink.parts.back().data.size(),
            50 - (kBoundary.size() + 3));  // a possible delimiter prefix is held
  auto status = parser.feed(body.substr(data_start + 50, 10), sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kNotEnoughSpace);
  EXPECT_EQ(status.error().message, "disk full");
  auto again = parser.feed(body.substr(data_start + 60), sink);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kNotEnoughSpace);
  EXPECT_FALSE(parser.finish());
  EXPECT_FALSE(sink.parts.back().ended);
}

TEST(Multipart, EmptyBoundaryIsAnError) {
  MultipartParser parser("");
  Recorder recorder;
  EXPECT_FALSE(parser.feed("--\r\n", recorder));
}

// ---------------------------------------------------------------------------------------------------------------
// 50 MB in constant memory

// Deterministic pseudo-random file content, with boundary look-alikes sprinkled in.
class ContentGenerator {
 public:
  explicit ContentGenerator(std::uint64_t size) : remaining_(size) {}
  std::uint64_t remaining() const { return remaining_; }
  char next() {
    --remaining_;
    if (pending_ < lookalike_.size()) return lookalike_[pending_++];
    const std::uint32_t value = random_();
    if ((value & 0xfff) == 0) pending_ = 0;  // about once every 4 KiB
    return static_cast<char>(value >> 24);
  }

 private:
  std::uint64_t remaining_;
  std::minstd_rand random_{42};
  std::string lookalike_ = "\r\n--" + std::string(kBoundary).substr(0, 20);
  std::size_t pending_ = lookalike_.size();
};

class HashingSink : public MultipartCallbacks {
 public:
  std::uint64_t bytes = 0;
  std::uint64_t hash = 14695981039346656037ull;
  std::size_t largest_slice = 0;
  int parts = 0;
  int ended = 0;
  Status on_part_begin(const PartHeaders& headers) override {
    ++parts;
    EXPECT_EQ(headers.filename, "/home/user/big.bin");
    return {};
  }
  Status on_part_data(std::string_view slice) override {
    largest_slice = std::max(largest_slice, slice.size());
    bytes += slice.size();
    for (const char c : slice) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return {};
  }
  Status on_part_end() override {
    ++ended;
    return {};
  }
};

long peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(Multipart, FiftyMegabytePartStreamsInConstantMemory) {
  constexpr std::uint64_t kSize = 50ull * 1024 * 1024 + 7;
  constexpr std::size_t kChunk = 64 * 1024;
  const long rss_before = peak_rss_kib();

  std::uint64_t expected_hash = 14695981039346656037ull;
  ContentGenerator content(kSize);
  std::string prefix =
      "--" + std::string(kBoundary) +
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"/home/user/big.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n";
  const std::string suffix = "\r\n" + closing();
  std::size_t suffix_sent = 0;

  MultipartParser parser(kBoundary);
  HashingSink sink;
  std::string chunk;
  chunk.reserve(kChunk);
  std::size_t max_buffered = 0;
  while (true) {
    chunk.clear();
    const std::size_t from_prefix = std::min(prefix.size(), kChunk);
    chunk.append(prefix, 0, from_prefix);
    prefix.erase(0, from_prefix);
    while (chunk.size() < kChunk && content.remaining() > 0) {
      const char c = content.next();
      expected_hash = (expected_hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
      chunk.push_back(c);
    }
    while (chunk.size() < kChunk && suffix_sent < suffix.size()) chunk.push_back(suffix[suffix_sent++]);
    if (chunk.empty()) break;
    ASSERT_TRUE(parser.feed(chunk, sink));
    max_buffered = std::max(max_buffered, parser.buffered_bytes());
  }
  ASSERT_TRUE(parser.finish());
  EXPECT_EQ(sink.parts, 1);
  EXPECT_EQ(sink.ended, 1);
  EXPECT_EQ(sink.bytes, kSize);
  EXPECT_EQ(sink.hash, expected_hash);
  EXPECT_LE(sink.largest_slice, kChunk);
  // Between feeds the parser keeps at most a possible delimiter prefix (plus transport padding).
  EXPECT_LE(max_buffered, kBoundary.size() + 4 + 256);
  const long rss_after = peak_rss_kib();
  ASSERT_GT(rss_before, 0);
  EXPECT_LT(rss_after - rss_before, 8 * 1024) << "peak RSS grew by " << (rss_after - rss_before) << " KiB";
}

// ---------------------------------------------------------------------------------------------------------------
// An independent producer: undici's FormData, as the E2B JS SDK uses it.

std::optional<std::string> run_and_capture(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return std::nullopt;
  std::string out;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe.get())) > 0) out.append(buffer.data(), n);
  if (pclose(pipe.release()) != 0) return std::nullopt;
  return out;
}

constexpr const char* kNodeScript = R"JS(
const bin = new Uint8Array(3000);
for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) % 256;
const tricky = new TextEncoder().encode("line\r\n--not-the-boundary\r\n--");
const fd = new FormData();
fd.append("file", new Blob(["hello a\n"]), "/home/user/a.txt");
fd.append("file", new Blob([bin, tricky]), "c.txt");
fd.append("file", new Blob([]), "/home/user/empty.txt");
fd.append("comment", "caf\u00e9 \"quoted\"");
fd.append("file", new Blob(["q"]), "we\"ird\u00e9.txt");
const request = new Request("http://sandbox/files", { method: "POST", body: fd });
request.arrayBuffer().then((body) => {
  const bytes = Buffer.from(body);
  process.stdout.write(JSON.stringify({
    contentType: request.headers.get("content-type"),
    body: bytes.toString("base64"),
    binary: Buffer.concat([Buffer.from(bin), Buffer.from(tricky)]).toString("base64"),
  }));
});
)JS";

TEST(Multipart, ParsesABodyMadeByNodeFormData) {
  if (access("/usr/bin/node", X_OK) != 0) GTEST_SKIP() << "/usr/bin/node is not installed";
  char script_path[] = "/tmp/codec_multipart_XXXXXX";
  const int fd = mkstemp(script_path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, kNodeScript, std::strlen(kNodeScript)), static_cast<ssize_t>(std::strlen(kNodeScript)));
  close(fd);
  const auto output = run_and_capture(std::string("/usr/bin/node ") + script_path);
  unlink(script_path);
  ASSERT_TRUE(output.has_value()) << "node failed";
  const auto fixture = boost::json::parse(*output);
  const std::string content_type(fixture.at("contentType").as_string());
  const auto body = base64_decode(fixture.at("body").as_string());
  const auto binary = base64_decode(fixture.at("binary").as_string());
  ASSERT_TRUE(body && binary);

  auto boundary = boundary_from_content_type(content_type);
  ASSERT_TRUE(boundary) << content_type;
  // Feed in uneven slices so boundaries land across calls.
  std::vector<std::size_t> cuts;
  for (std::size_t at = 1; at < body->size(); at += 1 + at % 97) cuts.push_back(at);
  auto outcome = parse_in_pieces(*body, cuts, *boundary);
  ASSERT_TRUE(outcome.status) << outcome.status.error().message;
  ASSERT_EQ(outcome.parts.size(), 5u);
  EXPECT_EQ(outcome.parts[0].headers.name, "file");
  EXPECT_EQ(outcome.parts[0].headers.filename, "/home/user/a.txt");
  EXPECT_EQ(outcome.parts[0].headers.content_type, "application/octet-stream");
  EXPECT_EQ(outcome.parts[0].data, "hello a\n");
  EXPECT_EQ(outcome.parts[1].headers.filename, "c.txt");
  EXPECT_EQ(outcome.parts[1].data, *binary);
  EXPECT_EQ(outcome.parts[2].headers.filename, "/home/user/empty.txt");
  EXPECT_EQ(outcome.parts[2].data, "");
  EXPECT_EQ(outcome.parts[3].headers.name, "comment");
  EXPECT_FALSE(outcome.parts[3].headers.filename.has_value());
  EXPECT_EQ(outcome.parts[3].data, "caf\xc3\xa9 \"quoted\"");
  // undici escapes '"' in filenames as %22 (WHATWG HTML); like Go's envd we keep it as sent.
  EXPECT_EQ(outcome.parts[4].headers.filename, "we%22ird\xc3\xa9.txt");
}

}  // namespace
}  // namespace cellblock::http
