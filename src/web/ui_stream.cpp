#include "web/ui_stream.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chat/stream_json.h"
#include "chat/ui_message_stream.h"

namespace cellblock::web {

namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

// Completes only when canceled, after firing `abort` if the client closed the connection first: the work is
// told to stop, and is never cut mid-way.
asio::awaitable<void> watch_client(http::ResponseWriter& writer, std::shared_ptr<http::AbortHandle> abort) {
  co_await writer.wait_client_closed();
  abort->abort();
  asio::steady_timer forever(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
  co_await forever.async_wait(asio::as_tuple(asio::use_awaitable));
}

}  // namespace

UiStream::UiStream(http::ResponseWriter& writer, std::shared_ptr<http::AbortHandle> abort, Persist persist)
    : writer_(writer), abort_(std::move(abort)), persist_(std::move(persist)) {}

asio::awaitable<bool> UiStream::open() {
  http::Headers headers;
  for (const auto& [name, value] : chat::ui::kResponseHeaders) {
    headers.add(std::string(name), std::string(value));
  }
  co_return co_await writer_.begin_stream(200, std::move(headers));
}

asio::awaitable<void> UiStream::send(const json::object& chunk) {
  builder_.apply(chunk);
  std::string_view type = chat::string_field(chunk, "type");
  if (type == "finish-step" || type == "finish") persist_(builder_);
  if (client_gone_) co_return;
  const std::string framed = chat::ui::frame(chunk);
  bool written = co_await writer_.write_chunk(framed);
  if (!written) {
    client_gone_ = true;
    abort_->abort();
  }
}

asio::awaitable<void> UiStream::close() {
  if (client_gone_) co_return;
  const std::string terminator = chat::ui::done();
  bool written = co_await writer_.write_chunk(terminator);
  if (written) co_await writer_.end_stream();
}

chat::ChunkSink UiStream::sink() {
  return [this](const json::object& chunk) -> asio::awaitable<void> { co_await send(chunk); };
}

asio::awaitable<void> UiStream::run(asio::awaitable<void> work) {
  // The watcher never finishes first: `||` cancels it once the work is done.
  co_await (std::move(work) || watch_client(writer_, abort_));
}

}  // namespace cellblock::web
