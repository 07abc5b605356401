#pragma once
// Conversations and what runs in them: GET /api/chats, GET and DELETE /api/chats/{id}, POST /api/chat (a
// turn), GET /api/chat/{id}/stream (follow a running turn), POST /api/chat/{id}/stop, POST /api/run (a cell
// run by hand). A turn runs detached from the request that started it, in a LiveStream, and is kept here by
// chat id until it ends; a hand-run cell belongs to its request.

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "app/auth.h"
#include "app/chat_kernels.h"
#include "app/live_stream.h"
#include "app/model_catalog.h"
#include "app/user_sandbox.h"
#include "chat/turn.h"
#include "http/exchange.h"
#include "store/chat_store.h"

namespace cellblock::app {

class ChatRoutes {
 public:
  ChatRoutes(store::ChatStore& chats, UserSandboxes& sandboxes, ChatKernels& kernels,
             const ModelCatalog& models)
      : chats_(chats), sandboxes_(sandboxes), kernels_(kernels), models_(models) {}

  asio::awaitable<void> list_chats(const Principal& who, http::ResponseWriter& writer);
  asio::awaitable<void> chat_detail(const Principal& who, const std::string& id,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> delete_chat(const Principal& who, const std::string& id,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> chat_turn(const Principal& who, http::BodyReader& body, http::ResponseWriter& writer);
  asio::awaitable<void> resume_turn(const Principal& who, const std::string& id,
                                    http::ResponseWriter& writer);
  asio::awaitable<void> stop_turn(const Principal& who, const std::string& id, http::ResponseWriter& writer);
  asio::awaitable<void> run_cell(const Principal& who, http::BodyReader& body, http::ResponseWriter& writer);

  // Tells every running turn to stop (the server is shutting down).
  void stop();

 private:
  struct LiveTurn {
    std::string user;
    std::shared_ptr<LiveStream> stream;
  };
  // The running turn of chat `id` if `who` may see it.
  const LiveTurn* live_turn(const Principal& who, std::string_view id) const;
  // Starts chat `chat_id`'s turn on its own, kept in live_turns_ until it ends.
  std::shared_ptr<LiveStream> start_turn(asio::any_io_executor executor, const std::string& user,
                                         const std::string& chat_id, boost::json::object chat_info,
                                         chat::TurnInput input);

  store::ChatStore& chats_;
  UserSandboxes& sandboxes_;
  ChatKernels& kernels_;
  const ModelCatalog& models_;
  // Turns running now, by chat id: a second turn of one chat waits for none, it is refused.
  std::map<std::string, LiveTurn, std::less<>> live_turns_;
};

}  // namespace cellblock::app
