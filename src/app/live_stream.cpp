#include "app/live_stream.h"

#include <chrono>
#include <exception>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "chat/ui_message_stream.h"
#include "common/json_fields.h"

namespace cellblock::app {

namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

}  // namespace

LiveStream::LiveStream(asio::any_io_executor executor, Persist persist,
                       std::chrono::milliseconds keep_alive_every)
    : persist_(std::move(persist)),
      changed_(std::move(executor), asio::steady_timer::time_point::max()),
      keep_alive_every_(keep_alive_every) {}

void LiveStream::start(asio::awaitable<void> work, std::function<void()> on_end) {
  asio::co_spawn(changed_.get_executor(), drive(shared_from_this(), std::move(work), std::move(on_end)),
                 asio::detached);
}

asio::awaitable<void> LiveStream::drive(std::shared_ptr<LiveStream> self, asio::awaitable<void> work,
                                        std::function<void()> on_end) {
  std::string failure;
  try {
    co_await std::move(work);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    spdlog::error("a chat stream failed: {}", failure);
    self->push(chat::ui::error("internal error: " + failure));
    self->push(chat::ui::finish("error"));
  }
  self->end();
  on_end();
}

void LiveStream::push(const json::object& chunk) {
  builder_.apply(chunk);
  std::string_view type = string_field(chunk, "type");
  if (type == "finish-step" || type == "finish") persist_(builder_);
  keep(chunk);
  changed_.cancel();
}

void LiveStream::keep(const json::object& chunk) {
  if (string_field(chunk, "type") == "tool-output-available") {
    std::string_view call_id = string_field(chunk, "toolCallId");
    const json::value* preliminary = chunk.if_contains("preliminary");
    const bool snapshot = preliminary != nullptr && preliminary->is_bool() && preliminary->get_bool();
    if (auto previous = snapshots_.find(call_id); previous != snapshots_.end()) {
      frames_[previous->second].clear();
      snapshots_.erase(previous);
    }
    if (snapshot) snapshots_.emplace(std::string(call_id), frames_.size());
  }
  frames_.push_back(chat::ui::frame(chunk));
}

chat::ChunkSink LiveStream::sink() {
  return [this](const json::object& chunk) -> asio::awaitable<void> {
    push(chunk);
    co_return;
  };
}

void LiveStream::end() {
  ended_ = true;
  changed_.cancel();
}

asio::awaitable<bool> LiveStream::follow(http::ResponseWriter& writer) {
  auto self = shared_from_this();
  http::Headers headers;
  for (const auto& [name, value] : chat::ui::kResponseHeaders) {
    headers.add(std::string(name), std::string(value));
  }
  bool opened = co_await writer.begin_stream(200, std::move(headers));
  if (!opened) co_return false;
  std::size_t next = 0;
  asio::steady_timer keep_alive(changed_.get_executor());
  for (;;) {
    while (next < frames_.size()) {
      // A copy: the kept frames may grow or be replaced while this write waits.
      const std::string frame = frames_[next++];
      if (frame.empty()) continue;
      bool written = co_await writer.write_chunk(frame);
      if (!written) co_return false;
    }
    if (ended_) break;
    keep_alive.expires_after(keep_alive_every_);
    auto woken = co_await (changed_.async_wait(kNoThrow) || keep_alive.async_wait(kNoThrow) ||
                           writer.wait_client_closed());
    if (woken.index() == 2) co_return false;
    if (woken.index() == 1) {
      const std::string comment = chat::ui::keep_alive();
      bool written = co_await writer.write_chunk(comment);
      if (!written) co_return false;
    }
  }
  const std::string terminator = chat::ui::done();
  bool written = co_await writer.write_chunk(terminator);
  if (!written) co_return false;
  bool ended = co_await writer.end_stream();
  co_return ended;
}

}  // namespace cellblock::app
