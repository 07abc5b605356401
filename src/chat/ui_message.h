#pragma once
// The assistant message as the browser sees it (AI SDK UIMessage parts), folded from the same UI message
// stream chunks the browser receives, so what is stored is exactly what was shown. Also turns stored UI
// messages back into model messages for the next turn.

#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "chat/model_messages.h"

namespace cellblock::chat {

// The name of the one tool the app offers, and its UI part type.
inline constexpr std::string_view kRunCodeTool = "run_code";
inline constexpr std::string_view kRunCodePart = "tool-run_code";

class UiMessageBuilder {
 public:
  // Applies one chunk (start-step, text-*, reasoning-*, tool-*, error, message-metadata, finish); others are
  // ignored.
  void apply(const boost::json::object& chunk);
  // The parts so far: {"type":"step-start"}, {"type":"text","text","state"}, tool parts
  // {"type":"tool-run_code","toolCallId","state","input","output"?,"errorText"?,"preliminary"?}.
  const boost::json::array& parts() const { return parts_; }
  // For the stored message: the `messageMetadata` the stream sent, with "finishReason"? and "error"?.
  boost::json::object metadata() const;

 private:
  boost::json::object* find_part(std::string_view key, std::string_view value);

  boost::json::array parts_;
  std::string finish_reason_;
  std::string error_;
  boost::json::object sent_metadata_;
};

// Converts stored UI messages ({id, role, parts}) into model messages. Assistant messages become one
// AssistantMessage per step, each followed by the results of its tool calls; a call without a final output
// (the turn was stopped) is answered as interrupted, so every call has its result. Images of earlier turns
// are described, not resent.
std::vector<ModelMessage> model_messages_from_ui(const std::vector<boost::json::object>& messages);

// The text of a user message for the model: its text parts, then a note for each file it uploaded.
std::string user_text_from_parts(const boost::json::array& parts);

}  // namespace cellblock::chat
