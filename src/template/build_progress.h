#pragma once
// What a template build reports while it runs. The builder calls the callback from the thread that called it.

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace cellblock::templates {

struct BuildProgress {
  int step = 0;          // 1-based index of the recipe step being run (0: not started, e.g. preparing)
  int step_count = 0;    // instructions in the recipe, FROM included
  std::string phase;     // what is happening, e.g. "FROM debian:bookworm: extracting archives"
  double percent = 0;    // overall estimate, 0..100, never decreasing
  std::string log_line;  // one line of build output, or empty when only step/phase/percent changed
};

using ProgressCallback = std::function<void(const BuildProgress&)>;

// The last `capacity` lines of a build log, for the failure report.
class LogTail {
 public:
  explicit LogTail(std::size_t capacity = 200) : capacity_(capacity) {}

  void add(std::string_view line) {
    lines_.emplace_back(line);
    if (lines_.size() > capacity_) lines_.pop_front();
  }
  std::vector<std::string> lines() const { return {lines_.begin(), lines_.end()}; }
  bool empty() const { return lines_.empty(); }

 private:
  std::size_t capacity_;
  std::deque<std::string> lines_;
};

}  // namespace cellblock::templates
