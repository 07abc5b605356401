#pragma once
// One UI message stream response (POST /api/chat, POST /api/run): writes each chunk to the browser, folds it
// into the stored assistant message (saved at every step end, so a crash or a stop loses at most the step in
// flight), and turns the browser going away into an abort of the work behind the stream.

#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "chat/turn.h"
#include "chat/ui_message.h"
#include "http/exchange.h"
#include "http/proxy.h"

namespace cellblock::web {

namespace asio = boost::asio;

class UiStream {
 public:
  using Persist = std::function<void(const chat::UiMessageBuilder& message)>;

  UiStream(http::ResponseWriter& writer, std::shared_ptr<http::AbortHandle> abort, Persist persist);

  // Sends the response head (status 200 and the UI message stream headers).
  asio::awaitable<bool> open();
  asio::awaitable<void> send(const boost::json::object& chunk);
  // Ends the stream with `data: [DONE]`.
  asio::awaitable<void> close();
  chat::ChunkSink sink();

  // Runs `work` while watching the connection: when the browser disconnects, the abort handle fires (the
  // model stops, the kernel is interrupted) and `work` winds down; it is never cut mid-way.
  asio::awaitable<void> run(asio::awaitable<void> work);

 private:
  http::ResponseWriter& writer_;
  std::shared_ptr<http::AbortHandle> abort_;
  Persist persist_;
  chat::UiMessageBuilder builder_;
  bool client_gone_ = false;
};

}  // namespace cellblock::web
