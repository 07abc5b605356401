#pragma once
// Jupyter messages as values (protocol 5.3): the four JSON parts of a message, plus the few fields every
// consumer routes on. Building and reading messages lives here; frames and signatures live in wire.h, sockets
// in channels.h.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace cellblock::jupyter {

inline constexpr std::string_view kProtocolVersion = "5.3";

struct Message {
  boost::json::object header;
  boost::json::object parent_header;  // {} when the message has no parent
  boost::json::object metadata;
  boost::json::object content;
  std::vector<std::string> buffers;  // optional binary frames (widgets); never signed
  // Copies of header.msg_type, header.msg_id and parent_header.msg_id ("" when absent), for routing.
  std::string msg_type;
  std::string msg_id;
  std::string parent_msg_id;
};

// The value of a string field, or "" when the field is absent or not a string. Kernels differ in which
// optional fields they send (jupyter.md §4.2), so readers must tolerate both.
std::string_view string_field(const boost::json::object& object, std::string_view key);

// The client side of one Jupyter session: a stable session id and unique message ids. Not thread-safe: the
// kernel's I/O thread owns it.
class Session {
 public:
  explicit Session(std::string id, std::string username = "agent");

  const std::string& id() const { return id_; }

  // A new message with a fresh header. `parent_header` is copied verbatim (replies to the kernel, e.g.
  // input_reply).
  Message make(std::string_view msg_type, boost::json::object content,
               const boost::json::object& parent_header = {});

 private:
  std::string id_;
  std::string username_;
  std::uint64_t counter_ = 0;
};

// Content of an execute_request. `stop_on_error` is always false: with true, ipykernel aborts later,
// unrelated cells after an error (jupyter.md §6.2).
boost::json::object execute_request_content(std::string_view code, bool silent, bool store_history,
                                            bool allow_stdin);

}  // namespace cellblock::jupyter
