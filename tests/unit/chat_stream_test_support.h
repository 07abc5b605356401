#pragma once
// Shared by the provider stream tests: events rendered one per line, and a stream fed whole, split at every
// byte offset and one byte at a time (all must agree).

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "chat/provider_events.h"

namespace cellblock::chat::testing {

// One line per event, so whole streams compare with a readable diff.
inline std::string describe(const ProviderEvent& event) {
  struct Visitor {
    std::string operator()(const TextDelta& e) { return "text " + e.text; }
    std::string operator()(const ToolCallStart& e) { return "start " + e.id + " " + e.name; }
    std::string operator()(const ToolCallInputDelta& e) { return "delta " + e.id + " " + e.json_fragment; }
    std::string operator()(const ToolCallEnd& e) {
      return "end " + e.id + " " + e.name + " " + boost::json::serialize(e.input);
    }
    std::string operator()(const Finish& e) {
      return "finish " + std::string(ui_finish_reason(e.reason)) + " " + e.raw_reason +
             " in=" + (e.usage.input_tokens ? std::to_string(*e.usage.input_tokens) : "-") +
             " out=" + (e.usage.output_tokens ? std::to_string(*e.usage.output_tokens) : "-");
    }
    std::string operator()(const StreamError& e) { return "error " + e.code + " " + e.tool_name; }
  };
  return std::visit(Visitor{}, event);
}

template <class Stream>
std::vector<std::string> run(std::string_view stream, std::size_t split_at, bool byte_by_byte = false) {
  Stream parser;
  std::vector<ProviderEvent> events;
  if (byte_by_byte) {
    for (char c : stream) parser.feed(std::string_view(&c, 1), events);
  } else {
    parser.feed(stream.substr(0, split_at), events);
    parser.feed(stream.substr(split_at), events);
  }
  parser.end_of_body(events);
  std::vector<std::string> lines;
  for (const auto& event : events) lines.push_back(describe(event));
  return lines;
}

template <class Stream>
std::vector<std::string> run_all_ways(std::string_view stream) {
  auto whole = run<Stream>(stream, stream.size());
  for (std::size_t split = 0; split < stream.size(); ++split) {
    EXPECT_EQ(run<Stream>(stream, split), whole) << "split at " << split;
  }
  EXPECT_EQ(run<Stream>(stream, 0, true), whole);
  return whole;
}

}  // namespace cellblock::chat::testing
