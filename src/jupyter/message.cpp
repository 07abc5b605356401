#include "jupyter/message.h"

#include <utility>

#include "common/encoding.h"

namespace cellblock::jupyter {

std::string_view string_field(const boost::json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  const auto& text = value->get_string();
  return {text.data(), text.size()};
}

Session::Session(std::string id, std::string username) : id_(std::move(id)), username_(std::move(username)) {}

Message Session::make(std::string_view msg_type, boost::json::object content,
                      const boost::json::object& parent_header) {
  Message message;
  // <session>_<counter> is unique for the session's lifetime, as ipykernel's own ids are.
  message.msg_id = id_ + "_" + std::to_string(++counter_);
  message.msg_type = std::string(msg_type);
  message.parent_msg_id = std::string(string_field(parent_header, "msg_id"));
  message.header = {{"msg_id", message.msg_id},    {"session", id_},
                    {"username", username_},       {"msg_type", msg_type},
                    {"version", kProtocolVersion}, {"date", rfc3339_now()}};
  message.parent_header = parent_header;
  message.content = std::move(content);
  return message;
}

boost::json::object execute_request_content(std::string_view code, bool silent, bool store_history,
                                            bool allow_stdin) {
  return {{"code", code},
          {"silent", silent},
          {"store_history", store_history && !silent},
          {"user_expressions", boost::json::object{}},
          {"allow_stdin", allow_stdin},
          {"stop_on_error", false}};
}

}  // namespace cellblock::jupyter
