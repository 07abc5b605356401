// Streaming gunzip: round trips, arbitrary input splits, gzip(1)-made input, truncation, garbage, bomb cap.

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "http/codec/gzip.h"

namespace cellblock::http {
namespace {

std::string sample_text(std::size_t size) {
  std::minstd_rand random(7);
  std::string out;
  out.reserve(size);
  // Words from a small vocabulary: compressible, but not trivially.
  static constexpr std::array<std::string_view, 6> kWords = {
      "alpha ", "beta ", "gamma\n", "\r\n--", std::string_view("\x00\xff", 2), "z"};
  while (out.size() < size) out.append(kWords[random() % kWords.size()]);
  out.resize(size);
  return out;
}

struct Inflated {
  Status status;
  std::string data;
  std::size_t largest_piece = 0;
};

Inflated inflate_in_chunks(std::string_view gz, std::size_t chunk, std::uint64_t cap = 0,
                           std::size_t piece = 4096) {
  GzipInflater inflater(cap, piece);
  Inflated result;
  const auto sink = [&](std::string_view bytes) -> Status {
    EXPECT_FALSE(bytes.empty());
    result.largest_piece = std::max(result.largest_piece, bytes.size());
    result.data.append(bytes);
    return {};
  };
  for (std::size_t at = 0; at < gz.size(); at += chunk) {
    result.status = inflater.feed(gz.substr(at, chunk), sink);
    if (!result.status) return result;
  }
  result.status = inflater.finish();
  return result;
}

TEST(Gzip, RoundTripWithBoundedPieces) {
  const std::string original = sample_text(1 << 20);
  const std::string gz = gzip_compress(original);
  ASSERT_GT(gz.size(), 18u);
  EXPECT_EQ(gz.substr(0, 2), "\x1f\x8b");  // a real gzip member header
  EXPECT_LT(gz.size(), original.size());
  auto result = inflate_in_chunks(gz, 1000);
  ASSERT_TRUE(result.status) << result.status.error().message;
  EXPECT_EQ(result.data, original);
  EXPECT_LE(result.largest_piece, 4096u);
  // One big feed too.
  auto whole = inflate_in_chunks(gz, gz.size());
  ASSERT_TRUE(whole.status);
  EXPECT_EQ(whole.data, original);
}

TEST(Gzip, EmptyPayload) {
  auto result = inflate_in_chunks(gzip_compress(""), 3);
  ASSERT_TRUE(result.status) << result.status.error().message;
  EXPECT_EQ(result.data, "");
}

TEST(Gzip, SplitAtEveryOffset) {
  const std::string original = sample_text(3000);
  const std::string gz = gzip_compress(original);
  for (std::size_t cut = 0; cut <= gz.size(); ++cut) {
    GzipInflater inflater(0, 100);
    std::string out;
    const auto sink = [&](std::string_view bytes) -> Status {
      out.append(bytes);
      return {};
    };
    ASSERT_TRUE(inflater.feed(std::string_view(gz).substr(0, cut), sink));
    ASSERT_TRUE(inflater.feed(std::string_view(gz).substr(cut), sink));
    ASSERT_TRUE(inflater.finish()) << "cut at " << cut;
    ASSERT_EQ(out, original) << "cut at " << cut;
  }
}

std::optional<std::string> gzip_with_gzip_tool(const std::string& data) {
  char path[] = "/tmp/codec_gzip_XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) return std::nullopt;
  const bool written = write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
  close(fd);
  std::optional<std::string> out;
  if (written) {
    const std::string command = std::string("gzip -9 -c ") + path;
    if (FILE* pipe = popen(command.c_str(), "r")) {
      std::string bytes;
      std::array<char, 4096> buffer{};
      std::size_t n = 0;
      while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) bytes.append(buffer.data(), n);
      if (pclose(pipe) == 0) out = std::move(bytes);
    }
  }
  unlink(path);
  return out;
}

TEST(Gzip, InflatesWhatGzipToolMakes) {
  const std::string original = sample_text(200000);
  const auto gz = gzip_with_gzip_tool(original);
  if (!gz) GTEST_SKIP() << "gzip(1) is not available";
  auto result = inflate_in_chunks(*gz, 777);
  ASSERT_TRUE(result.status) << result.status.error().message;
  EXPECT_EQ(result.data, original);
}

TEST(Gzip, ConcatenatedMembers) {
  const std::string gz = gzip_compress("first,") + gzip_compress("") + gzip_compress("second");
  auto result = inflate_in_chunks(gz, 5);
  ASSERT_TRUE(result.status) << result.status.error().message;
  EXPECT_EQ(result.data, "first,second");
}

TEST(Gzip, TruncatedStreamFailsAtFinish) {
  const std::string gz = gzip_compress(sample_text(5000));
  for (std::size_t keep :
       {std::size_t{0}, std::size_t{1}, std::size_t{10}, gz.size() / 2, gz.size() - 4, gz.size() - 1}) {
    auto result = inflate_in_chunks(std::string_view(gz).substr(0, keep), 64);
    ASSERT_FALSE(result.status) << "kept " << keep;
    EXPECT_EQ(result.status.error().code, ErrorCode::kInvalidArgument);
  }
}

TEST(Gzip, GarbageAndTrailingGarbage) {
  auto garbage = inflate_in_chunks("this is not gzip at all", 4);
  ASSERT_FALSE(garbage.status);
  EXPECT_EQ(garbage.status.error().code, ErrorCode::kInvalidArgument);

  std::string corrupt = gzip_compress(sample_text(5000));
  corrupt[corrupt.size() - 6] ^= 0x55;  // the CRC32 in the trailer
  auto bad_crc = inflate_in_chunks(corrupt, 100);
  ASSERT_FALSE(bad_crc.status);
  EXPECT_EQ(bad_crc.status.error().code, ErrorCode::kInvalidArgument);

  auto trailing = inflate_in_chunks(gzip_compress("ok") + "junk", 100);
  ASSERT_FALSE(trailing.status);
  EXPECT_EQ(trailing.status.error().code, ErrorCode::kInvalidArgument);
}

TEST(Gzip, DecompressionBombIsCapped) {
  const std::string zeros(64 << 20, '\0');
  const std::string gz = gzip_compress(zeros);
  ASSERT_LT(gz.size(), 128u * 1024);  // 64 MiB of zeros shrink to ~64 KiB
  constexpr std::uint64_t kCap = 1 << 20;
  GzipInflater inflater(kCap);
  std::uint64_t delivered = 0;
  const auto sink = [&](std::string_view bytes) -> Status {
    delivered += bytes.size();
    return {};
  };
  auto status = inflater.feed(gz, sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_LE(delivered, kCap);
  EXPECT_FALSE(inflater.feed("x", sink));  // sticky
  EXPECT_FALSE(inflater.finish());

  // Exactly at the cap is fine.
  auto at_cap = inflate_in_chunks(gzip_compress(std::string(kCap, 'a')), 4096, kCap);
  ASSERT_TRUE(at_cap.status) << at_cap.status.error().message;
  EXPECT_EQ(at_cap.data.size(), kCap);
}

TEST(Gzip, SinkErrorAborts) {
  const std::string gz = gzip_compress(sample_text(100000));
  GzipInflater inflater(0, 1024);
  int calls = 0;
  const auto sink = [&](std::string_view) -> Status {
    if (++calls == 3) return fail(ErrorCode::kNotEnoughSpace, "disk full");
    return {};
  };
  auto status = inflater.feed(gz, sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kNotEnoughSpace);
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace cellblock::http
