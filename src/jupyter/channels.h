#pragma once
// The client's ZeroMQ sockets to one kernel (jupyter.md §2): DEALERs for shell, control and stdin (shell and
// stdin share one routing id, so input_requests reach us), a SUB for iopub subscribed to everything, linger 0
// everywhere. Only the thread that owns a Channels object may touch it; it never blocks.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "common/error.h"
#include "jupyter/connection.h"
#include "jupyter/message.h"

namespace cellblock::jupyter {

enum class Channel { kShell, kControl, kStdin, kIopub };

class Channels {
 public:
  static Result<std::unique_ptr<Channels>> connect(zmq::context_t& context, const ConnectionInfo& info,
                                                   const std::string& routing_id);

  // For zmq_poll items.
  void* handle(Channel channel);
  // Signs and queues one message. Fails only if ZeroMQ refuses it (queue full, socket closed).
  Status send(Channel channel, const Message& message);
  // Receives every message already waiting on `channel` without blocking and passes each (decoded and
  // verified, or the reason it was rejected) to `handler`.
  void drain(Channel channel, const std::function<void(Result<Message>)>& handler);

 private:
  Channels(zmq::context_t& context, std::string key);
  zmq::socket_t& socket(Channel channel);

  std::string key_;
  zmq::socket_t shell_;
  zmq::socket_t control_;
  zmq::socket_t stdin_;
  zmq::socket_t iopub_;
  std::vector<zmq::message_t> frames_;  // reused between receives
};

}  // namespace cellblock::jupyter
