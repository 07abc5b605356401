#pragma once
// NDJSON framing for the code interpreter's /execute stream (spec §7.3, §9.5): one JSON value per line, never
// a blank line. Boost.JSON's serializer never emits a raw newline (control characters inside strings are
// escaped), so the only newline is the terminator.

#include <string>

#include <boost/json.hpp>

namespace cellblock::http {

inline std::string ndjson_line(const boost::json::value& value) {
  std::string line = boost::json::serialize(value);
  line.push_back('\n');
  return line;
}

}  // namespace cellblock::http
