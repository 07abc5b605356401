#pragma once
// One UI message stream (a chat turn, a hand-run cell), apart from the responses that show it. The work
// pushes chunks; each chunk is folded into the stored assistant message (saved at every step end, so a crash
// loses at most the step in flight) and kept, so a response that joins late (a page reloaded mid-answer)
// replays what it missed and then follows. A cell's progress snapshot replaces the previous one in what is
// kept: the replay holds one snapshot per cell, not every tick.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include "chat/turn.h"
#include "chat/ui_message.h"
#include "http/exchange.h"
#include "http/proxy.h"

namespace cellblock::app {

namespace asio = boost::asio;

class LiveStream : public std::enable_shared_from_this<LiveStream> {
 public:
  using Persist = std::function<void(const chat::UiMessageBuilder& message)>;

  // A follower waiting on a quiet stream (a cell that prints nothing) writes an SSE comment every
  // `keep_alive_every`, so proxies keep the connection open.
  LiveStream(asio::any_io_executor executor, Persist persist,
             std::chrono::milliseconds keep_alive_every = std::chrono::seconds(15));

  // Runs `work` on its own, not tied to any request; when it ends (an exception included: it becomes an error
  // chunk) the stream ends and `on_end` runs.
  void start(asio::awaitable<void> work, std::function<void()> on_end);

  void push(const boost::json::object& chunk);
  chat::ChunkSink sink();
  // Fires when the work should stop: the model request is aborted and a running cell interrupted.
  const std::shared_ptr<AbortHandle>& abort_handle() const { return abort_; }
  bool ended() const { return ended_; }

  // Answers a request with this stream: the head, every chunk so far, then each new one, then `[DONE]`. True
  // when the client got it all; false when it went away first (the work goes on).
  asio::awaitable<bool> follow(http::ResponseWriter& writer);

 private:
  static asio::awaitable<void> drive(std::shared_ptr<LiveStream> self, asio::awaitable<void> work,
                                     std::function<void()> on_end);
  void keep(const boost::json::object& chunk);
  void end();

  Persist persist_;
  chat::UiMessageBuilder builder_;
  std::shared_ptr<AbortHandle> abort_ = std::make_shared<AbortHandle>();
  std::vector<std::string> frames_;  // framed chunks; "" where a newer snapshot replaced one
  // Tool call id → index of its latest progress snapshot in frames_.
  std::map<std::string, std::size_t, std::less<>> snapshots_;
  asio::steady_timer changed_;  // never expires; cancel() wakes the followers
  std::chrono::milliseconds keep_alive_every_;
  bool ended_ = false;
};

}  // namespace cellblock::app
