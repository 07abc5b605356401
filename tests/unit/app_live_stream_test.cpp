// A turn's UI message stream apart from its responses: a follower that joins late replays every chunk from
// the start (a cell's progress snapshots collapsed to the newest), then follows to `[DONE]`; a follower that
// goes away leaves the work running; an exception in the work ends the stream with an error.

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app/live_stream.h"
#include "chat/ui_message_stream.h"

namespace cellblock::app {
namespace {

namespace json = boost::json;

// Records what a follower writes; write_chunk fails after `fail_after` chunks, as for a closed connection.
class RecordingWriter final : public http::ResponseWriter {
 public:
  std::vector<std::string> chunks;
  std::optional<std::size_t> fail_after;
  bool ended = false;
  int status = 0;

  asio::awaitable<bool> send(http::Response) override { co_return false; }
  asio::awaitable<bool> send_file(int, http::Headers, int, std::uint64_t) override { co_return false; }
  asio::awaitable<bool> begin_stream(int code, http::Headers) override {
    status = code;
    co_return true;
  }
  asio::awaitable<bool> write_chunk(std::string_view data) override {
    if (fail_after && chunks.size() >= *fail_after) co_return false;
    chunks.emplace_back(data);
    co_return true;
  }
  asio::awaitable<bool> end_stream() override {
    ended = true;
    co_return true;
  }
  void abort() override {}
  asio::awaitable<void> wait_client_closed() override {
    asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  bool started() const override { return status != 0; }

  // The chunk types written, "[DONE]" for the terminator.
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const std::string& chunk : chunks) {
      if (chunk == chat::ui::done() || chunk == chat::ui::keep_alive()) {
        out.push_back(chunk == chat::ui::done() ? "[DONE]" : ":keep-alive");
        continue;
      }
      json::value parsed = json::parse(std::string_view(chunk).substr(6));  // after "data: "
      std::string type(parsed.as_object().at("type").as_string());
      if (parsed.as_object().contains("preliminary")) type += "*";
      out.push_back(type);
    }
    return out;
  }
};

asio::awaitable<void> pause(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// A cell that reports progress three times, pausing between chunks so followers keep up; `midway` runs
// after the second snapshot.
asio::awaitable<void> counting_cell(
    std::shared_ptr<LiveStream> stream, std::function<void()> midway = [] {}) {
  stream->push(chat::ui::start("msg_1"));
  stream->push(chat::ui::tool_input_available("call_1", "run_code", json::object{{"code", "count()"}}));
  for (int i = 1; i <= 3; ++i) {
    co_await pause(std::chrono::milliseconds(20));
    stream->push(
        chat::ui::tool_output_available("call_1", json::object{{"stdout", std::to_string(i)}}, true));
    if (i == 2) midway();
  }
  co_await pause(std::chrono::milliseconds(20));
  stream->push(chat::ui::tool_output_available("call_1", json::object{{"stdout", "123"}}));
  stream->push(chat::ui::finish("stop"));
}

class LiveStreamTest : public ::testing::Test {
 protected:
  std::shared_ptr<LiveStream> make_stream() {
    return std::make_shared<LiveStream>(io_.get_executor(),
                                        [this](const chat::UiMessageBuilder&) { ++saves_; });
  }
  // Follows `stream` from `delay` on; `done` says whether the follower got everything.
  void follow_after(std::shared_ptr<LiveStream> stream, RecordingWriter& writer,
                    std::chrono::milliseconds delay, std::optional<bool>& done) {
    asio::co_spawn(
        io_,
        [](std::shared_ptr<LiveStream> s, RecordingWriter& w, std::chrono::milliseconds d,
           std::optional<bool>& out) -> asio::awaitable<void> {
          co_await pause(d);
          out = co_await s->follow(w);
        }(std::move(stream), writer, delay, done),
        asio::detached);
  }

  asio::io_context io_;
  int saves_ = 0;
};

TEST_F(LiveStreamTest, FollowersFromTheStartAndLateOnesSeeTheWholeStream) {
  auto stream = make_stream();
  bool ended = false;
  RecordingWriter early;
  RecordingWriter late;
  std::optional<bool> early_done;
  std::optional<bool> late_done;
  auto join_late = [&] { follow_after(stream, late, std::chrono::milliseconds(0), late_done); };
  stream->start(counting_cell(stream, join_late), [&] { ended = true; });
  follow_after(stream, early, std::chrono::milliseconds(0), early_done);
  io_.run();

  EXPECT_TRUE(ended);
  EXPECT_TRUE(stream->ended());
  EXPECT_EQ(early_done, true);
  EXPECT_EQ(late_done, true);
  EXPECT_EQ(early.status, 200);
  EXPECT_TRUE(early.ended && late.ended);
  using Types = std::vector<std::string>;
  EXPECT_EQ(early.types(),
            (Types{"start", "tool-input-available", "tool-output-available*", "tool-output-available*",
                   "tool-output-available*", "tool-output-available", "finish", "[DONE]"}));
  // The late follower replays the newest snapshot only (the second), then follows live.
  EXPECT_EQ(late.types(), (Types{"start", "tool-input-available", "tool-output-available*",
                                 "tool-output-available*", "tool-output-available", "finish", "[DONE]"}));
  EXPECT_EQ(late.chunks[2], early.chunks[3]);
  EXPECT_TRUE(
      std::equal(late.chunks.begin() + 3, late.chunks.end(), early.chunks.begin() + 4, early.chunks.end()));
  EXPECT_EQ(saves_, 1);  // stored at the finish
}

TEST_F(LiveStreamTest, AFollowerThatJoinsAfterTheCellEndedGetsOnlyTheFinalOutput) {
  auto stream = make_stream();
  stream->start(counting_cell(stream), [] {});
  io_.run();
  RecordingWriter writer;
  std::optional<bool> done;
  io_.restart();
  follow_after(stream, writer, std::chrono::milliseconds(0), done);
  io_.run();
  EXPECT_EQ(done, true);
  EXPECT_EQ(writer.types(), (std::vector<std::string>{"start", "tool-input-available",
                                                      "tool-output-available", "finish", "[DONE]"}));
}

TEST_F(LiveStreamTest, AFollowerThatGoesAwayLeavesTheWorkRunning) {
  auto stream = make_stream();
  bool ended = false;
  stream->start(counting_cell(stream), [&] { ended = true; });
  RecordingWriter gone;
  gone.fail_after = 2;
  std::optional<bool> done;
  follow_after(stream, gone, std::chrono::milliseconds(0), done);
  io_.run();
  EXPECT_EQ(done, false);
  EXPECT_TRUE(ended);
  EXPECT_FALSE(stream->abort_handle()->aborted());
  EXPECT_EQ(saves_, 1);
}

asio::awaitable<void> quiet_cell(std::shared_ptr<LiveStream> stream) {
  stream->push(chat::ui::start("msg_3"));
  co_await pause(std::chrono::milliseconds(100));  // several keep-alive periods without a chunk
  stream->push(chat::ui::finish("stop"));
}

TEST_F(LiveStreamTest, AQuietStreamSendsKeepAliveComments) {
  auto stream = std::make_shared<LiveStream>(
      io_.get_executor(), [](const chat::UiMessageBuilder&) {}, std::chrono::milliseconds(20));
  stream->start(quiet_cell(stream), [] {});
  RecordingWriter writer;
  std::optional<bool> done;
  follow_after(stream, writer, std::chrono::milliseconds(0), done);
  io_.run();
  EXPECT_EQ(done, true);
  std::vector<std::string> types = writer.types();
  EXPECT_EQ(types.front(), "start");
  EXPECT_EQ(types.at(types.size() - 2), "finish");
  EXPECT_GE(std::count(types.begin(), types.end(), ":keep-alive"), 2) << ::testing::PrintToString(types);
}

asio::awaitable<void> failing_work(std::shared_ptr<LiveStream> stream) {
  stream->push(chat::ui::start("msg_2"));
  co_await pause(std::chrono::milliseconds(5));
  throw std::runtime_error("disk on fire");
}

TEST_F(LiveStreamTest, AnExceptionInTheWorkEndsTheStreamWithAnError) {
  auto stream = make_stream();
  stream->start(failing_work(stream), [] {});
  RecordingWriter writer;
  std::optional<bool> done;
  follow_after(stream, writer, std::chrono::milliseconds(0), done);
  io_.run();
  EXPECT_EQ(done, true);
  EXPECT_EQ(writer.types(), (std::vector<std::string>{"start", "error", "finish", "[DONE]"}));
  EXPECT_NE(writer.chunks[1].find("disk on fire"), std::string::npos);
}

}  // namespace
}  // namespace cellblock::app
