#pragma once
// Test fixtures stored as hex text (tests/fixtures/<dir>/<name>): the bytes they spell, whitespace ignored.

#include <cctype>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace cellblock::fixtures {

inline std::string read_hex_fixture(const std::string& dir, const std::string& name) {
  std::ifstream file(std::string(CELLBLOCK_FIXTURES_DIR) + "/" + dir + "/" + name);
  EXPECT_TRUE(file) << dir << "/" << name;
  std::stringstream text;
  text << file.rdbuf();
  std::string digits;
  for (char c : text.str()) {
    if (!std::isspace(static_cast<unsigned char>(c))) digits.push_back(c);
  }
  std::string bytes;
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

}  // namespace cellblock::fixtures
