#include "jupyter/wire.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace cellblock::jupyter {
namespace {

namespace json = boost::json;

std::vector<std::string_view> views(const std::vector<std::string>& frames) {
  return {frames.begin(), frames.end()};
}

// Four JSON frames signed by hand, so that tests can corrupt single frames.
std::vector<std::string> signed_frames(std::string_view key, std::string header, std::string parent,
                                       std::string metadata, std::string content) {
  std::string signature = sign_frames(key, header, parent, metadata, content);
  return {std::string(kDelimiter), signature, header, parent, metadata, content};
}

TEST(JupyterWire, HmacMatchesPythonHmacModule) {
  // /usr/bin/python3: hmac.new(b"secret-key", b'{"msg_type":"a"}' b'{}' b'{}' b'{"x":1}',
  // hashlib.sha256).hexdigest()
  EXPECT_EQ(sign_frames("secret-key", R"({"msg_type":"a"})", "{}", "{}", R"({"x":1})"),
            "cff1b3cce621757fa795ced2c1c0d096ce05dd0bc23baba09a6e87d2570fd072");
}

TEST(JupyterWire, EmptyKeyGivesEmptySignature) {
  EXPECT_EQ(sign_frames("", "{}", "{}", "{}", "{}"), "");
  Session session("s");
  auto frames = encode(session.make("kernel_info_request", {}), "");
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[1], "");
  auto decoded = decode(views(frames), "");
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->msg_type, "kernel_info_request");
}

TEST(JupyterWire, EncodeDecodeRoundTrip) {
  Session session("sess-1");
  json::object parent{{"msg_id", "parent-7"}, {"msg_type", "input_request"}};
  Message message = session.make("input_reply", {{"value", "Bob ünïcode"}}, parent);
  message.metadata = {{"m", 1}};
  message.buffers = {std::string("\0\1binary", 8)};

  auto frames = encode(message, "k3y");
  ASSERT_EQ(frames.size(), 7u);
  EXPECT_EQ(frames[0], "<IDS|MSG>");
  EXPECT_EQ(frames[1].size(), 64u);
  EXPECT_EQ(frames[1], sign_frames("k3y", frames[2], frames[3], frames[4], frames[5]));

  // A ROUTER would put routing ids in front; an iopub SUB a topic. Both are skipped.
  frames.insert(frames.begin(), {"routing-id", "stream.stdout"});
  auto decoded = decode(views(frames), "k3y");
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->msg_type, "input_reply");
  EXPECT_EQ(decoded->msg_id, message.msg_id);
  EXPECT_EQ(decoded->parent_msg_id, "parent-7");
  EXPECT_EQ(decoded->header.at("session").as_string(), "sess-1");
  EXPECT_EQ(decoded->header.at("version").as_string(), "5.3");
  EXPECT_EQ(decoded->content.at("value").as_string(), "Bob ünïcode");
  EXPECT_EQ(decoded->metadata.at("m").as_int64(), 1);
  ASSERT_EQ(decoded->buffers.size(), 1u);
  EXPECT_EQ(decoded->buffers[0], std::string("\0\1binary", 8));
}

TEST(JupyterWire, SessionIdsAreUniqueAndExecuteRequestNeverStopsOnError) {
  Session session("abc");
  auto a = session.make("execute_request", execute_request_content("1+1", false, true, false));
  auto b = session.make("execute_request", execute_request_content("x", true, true, true));
  EXPECT_NE(a.msg_id, b.msg_id);
  EXPECT_EQ(a.content.at("stop_on_error").as_bool(), false);
  EXPECT_EQ(a.content.at("code").as_string(), "1+1");
  EXPECT_EQ(b.content.at("silent").as_bool(), true);
  EXPECT_EQ(b.content.at("store_history").as_bool(), false);  // forced off for silent cells
  EXPECT_EQ(b.content.at("allow_stdin").as_bool(), true);
  EXPECT_TRUE(a.parent_header.empty());
}

TEST(JupyterWire, TamperedFrameIsRejected) {
  auto frames = signed_frames("key", R"({"msg_id":"1","msg_type":"stream"})", "{}", "{}", R"({"text":"a"})");
  ASSERT_TRUE(decode(views(frames), "key"));
  for (std::size_t i = 2; i < 6; ++i) {
    auto tampered = frames;
    tampered[i].insert(tampered[i].size() - 1, " ");
    auto decoded = decode(views(tampered), "key");
    ASSERT_FALSE(decoded) << "frame " << i;
    EXPECT_EQ(decoded.error().code, ErrorCode::kUnauthenticated);
  }
  auto decoded = decode(views(frames), "other key");
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kUnauthenticated);
}

TEST(JupyterWire, MalformedSignaturesAreRejected) {
  auto frames = signed_frames("key", R"({"msg_id":"1"})", "{}", "{}", "{}");
  const std::string good = frames[1];
  for (const std::string& signature :
       {good.substr(0, 63), good + "0", std::string(), std::string(64, 'z'), std::string(64, 'A')}) {
    auto bad = frames;
    bad[1] = signature;
    auto decoded = decode(views(bad), "key");
    ASSERT_FALSE(decoded) << signature;
    EXPECT_EQ(decoded.error().code, ErrorCode::kUnauthenticated);
  }
  // The right digest in upper case is not what ipykernel sends: rejected too.
  auto upper = frames;
  for (char& c : upper[1]) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_FALSE(decode(views(upper), "key"));
}

TEST(JupyterWire, StructuralErrors) {
  auto frames = signed_frames("key", R"({"msg_id":"1"})", "{}", "{}", "{}");
  auto no_delimiter = frames;
  no_delimiter[0] = "<IDS|MSG";
  auto decoded = decode(views(no_delimiter), "key");
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);

  auto too_short = frames;
  too_short.pop_back();
  decoded = decode(views(too_short), "key");
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
}

TEST(JupyterWire, InvalidJsonAfterValidSignatureIsAnError) {
  for (const auto& content : {std::string("{not json"), std::string("[1,2]"), std::string("")}) {
    auto frames = signed_frames("key", R"({"msg_id":"1"})", "{}", "{}", content);
    auto decoded = decode(views(frames), "key");
    ASSERT_FALSE(decoded) << content;
    EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
  }
  auto bad_header = signed_frames("key", "nope", "{}", "{}", "{}");
  EXPECT_FALSE(decode(views(bad_header), "key"));
}

// The stream message of tests/fixtures/kernel-transcripts/wire_frames_example.txt: 7 frames from the topic
// on.
std::vector<std::string> fixture_stream_frames() {
  std::ifstream file(CELLBLOCK_FIXTURES_DIR "/kernel-transcripts/wire_frames_example.txt");
  std::vector<std::string> frames;
  std::string line;
  bool in_stream = false;
  while (std::getline(file, line)) {
    if (line.rfind("--- ", 0) == 0) {
      if (in_stream) break;
      in_stream = line.find("iopub SUB <- stream") != std::string::npos;
      continue;
    }
    if (in_stream) frames.push_back(line.substr(line.find("] ") + 2));
  }
  return frames;
}

TEST(JupyterWire, ParsesRealIpykernelFrames) {
  auto frames = fixture_stream_frames();
  ASSERT_EQ(frames.size(), 7u);
  ASSERT_EQ(frames[0], "stream.stdout");

  // The capture's key is redacted, so its own signature cannot verify under any key we know.
  auto decoded = decode(views(frames), "a0b1c2d3-e4f5a6b7c8d9e0f1a2b3c4d5");
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, ErrorCode::kUnauthenticated);

  // Re-signed with a known key; the expected value was computed with Python's hmac module over the same
  // frames.
  frames[2] = "cc447b3ac8efbd5d5c1debf42dbd987a53a0c04e849f2379d5eed1fb6b612b1e";
  EXPECT_EQ(sign_frames("a0b1c2d3-e4f5a6b7c8d9e0f1a2b3c4d5", frames[3], frames[4], frames[5], frames[6]),
            frames[2]);
  decoded = decode(views(frames), "a0b1c2d3-e4f5a6b7c8d9e0f1a2b3c4d5");
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->msg_type, "stream");
  EXPECT_EQ(decoded->msg_id, "a8aa8b47-ec4decaedeae396fd8c1d6a3_7512_10");
  EXPECT_EQ(decoded->parent_msg_id, "d06c5208c4fe48f8a31692e38da03c67");
  EXPECT_EQ(decoded->content.at("name").as_string(), "stdout");
  EXPECT_EQ(decoded->content.at("text").as_string(), "hi\n");
  EXPECT_TRUE(decoded->metadata.empty());
}

}  // namespace
}  // namespace cellblock::jupyter
