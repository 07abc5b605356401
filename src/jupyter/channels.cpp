#include "jupyter/channels.h"

#include "jupyter/wire.h"

namespace cellblock::jupyter {

Channels::Channels(zmq::context_t& context, std::string key)
    : key_(std::move(key)),
      shell_(context, zmq::socket_type::dealer),
      control_(context, zmq::socket_type::dealer),
      stdin_(context, zmq::socket_type::dealer),
      iopub_(context, zmq::socket_type::sub) {}

Result<std::unique_ptr<Channels>> Channels::connect(zmq::context_t& context, const ConnectionInfo& info,
                                                    const std::string& routing_id) {
  try {
    std::unique_ptr<Channels> channels(new Channels(context, info.key));
    for (zmq::socket_t* socket :
         {&channels->shell_, &channels->control_, &channels->stdin_, &channels->iopub_}) {
      // Without linger 0, closing a socket blocks on messages queued for a kernel that has gone away.
      socket->set(zmq::sockopt::linger, 0);
    }
    for (zmq::socket_t* socket : {&channels->shell_, &channels->control_, &channels->stdin_}) {
      socket->set(zmq::sockopt::routing_id, routing_id);
    }
    channels->iopub_.set(zmq::sockopt::subscribe, "");
    channels->shell_.connect(info.endpoint(info.shell_port));
    channels->control_.connect(info.endpoint(info.control_port));
    channels->stdin_.connect(info.endpoint(info.stdin_port));
    channels->iopub_.connect(info.endpoint(info.iopub_port));
    return channels;
  } catch (const zmq::error_t& error) {
    return fail(ErrorCode::kInternal, std::string("connect to kernel sockets: ") + error.what());
  }
}

zmq::socket_t& Channels::socket(Channel channel) {
  switch (channel) {
    case Channel::kShell:
      return shell_;
    case Channel::kControl:
      return control_;
    case Channel::kStdin:
      return stdin_;
    case Channel::kIopub:
      break;
  }
  return iopub_;
}

void* Channels::handle(Channel channel) {
  return socket(channel).handle();
}

Status Channels::send(Channel channel, const Message& message) {
  std::vector<std::string> frames = encode(message, key_);
  zmq::socket_t& target = socket(channel);
  try {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      auto flags = zmq::send_flags::dontwait;
      if (i + 1 < frames.size()) flags = flags | zmq::send_flags::sndmore;
      if (!target.send(zmq::buffer(frames[i]), flags)) {
        // Only the first frame can be refused: ZeroMQ accepts the rest of a started multipart message.
        return fail(ErrorCode::kUnavailable, "kernel socket queue is full");
      }
    }
    return {};
  } catch (const zmq::error_t& error) {
    return fail(ErrorCode::kInternal, std::string("send to kernel: ") + error.what());
  }
}

void Channels::drain(Channel channel, const std::function<void(Result<Message>)>& handler) {
  zmq::socket_t& source = socket(channel);
  std::vector<std::string_view> views;
  try {
    for (;;) {
      frames_.clear();
      zmq::message_t first;
      if (!source.recv(first, zmq::recv_flags::dontwait)) return;
      bool more = first.more();
      frames_.push_back(std::move(first));
      // The rest of a multipart message is already here: ZeroMQ delivers multipart messages atomically.
      while (more) {
        zmq::message_t part;
        if (!source.recv(part, zmq::recv_flags::none)) break;
        more = part.more();
        frames_.push_back(std::move(part));
      }
      views.clear();
      for (const auto& frame : frames_) views.emplace_back(frame.data<char>(), frame.size());
      handler(decode(views, key_));
    }
  } catch (const zmq::error_t& error) {
    handler(fail(ErrorCode::kInternal, std::string("receive from kernel: ") + error.what()));
  }
}

}  // namespace cellblock::jupyter
