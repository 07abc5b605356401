#pragma once
// The AI SDK UI message stream, protocol v1: each chunk is `data: <single-line JSON>\n\n` and the stream ends
// with `data: [DONE]\n\n`. The chunk builders return the chunk object (so a server can also fold it into the
// stored message); frame() gives the exact bytes to write and flush.

#include <array>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json.hpp>

#include "chat/provider_events.h"

namespace cellblock::chat::ui {

using Chunk = boost::json::object;

// The response headers a UI message stream needs (name, value), lower-case as in the spec.
inline constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kResponseHeaders{{
    {"content-type", "text/event-stream"},
    {"cache-control", "no-cache"},
    {"connection", "keep-alive"},
    {"x-vercel-ai-ui-message-stream", "v1"},
    {"x-accel-buffering", "no"},
}};

// Frames any chunk object: serialized on one line (Boost.JSON escapes newlines inside strings).
std::string frame(const boost::json::object& chunk);

// `message_id` is omitted when empty.
Chunk start(std::string_view message_id = {});
Chunk start_step();
Chunk finish_step();
Chunk reset_step();

Chunk text_start(std::string_view id);
Chunk text_delta(std::string_view id, std::string_view delta);
Chunk text_end(std::string_view id);

Chunk reasoning_start(std::string_view id);
Chunk reasoning_delta(std::string_view id, std::string_view delta);
Chunk reasoning_end(std::string_view id);

Chunk tool_input_start(std::string_view tool_call_id, std::string_view tool_name);
Chunk tool_input_delta(std::string_view tool_call_id, std::string_view input_text_delta);
Chunk tool_input_available(std::string_view tool_call_id, std::string_view tool_name,
                           const boost::json::value& input);
Chunk tool_input_error(std::string_view tool_call_id, std::string_view tool_name,
                       const boost::json::value& input, std::string_view error_text);
// `preliminary` outputs replace each other on the client; the final one has no `preliminary` field.
Chunk tool_output_available(std::string_view tool_call_id, const boost::json::value& output,
                            bool preliminary = false);
Chunk tool_output_error(std::string_view tool_call_id, std::string_view error_text);

// A custom `data-<name>` part; `id` is omitted when empty, `transient` only written when true.
Chunk data_part(std::string_view name, std::string_view id, const boost::json::value& data,
                bool transient = false);
Chunk message_metadata(const boost::json::value& metadata);

Chunk error(std::string_view error_text);
Chunk abort(std::string_view reason = {});
// `finish_reason` is one of stop | length | content-filter | tool-calls | error | interrupted | other;
// omitted when empty.
Chunk finish(std::string_view finish_reason = {});
inline Chunk finish(FinishReason reason) {
  return finish(ui_finish_reason(reason));
}

// The terminator `data: [DONE]\n\n`.
std::string done();
// An SSE comment clients ignore; send one about every 15 s so proxies keep the connection open.
std::string keep_alive();

}  // namespace cellblock::chat::ui
