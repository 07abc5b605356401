#pragma once
// Turns the output of a template build (mmdebstrap's "I:" lines, apt's and dpkg's lines, and the step markers
// the builder's hooks print) into BuildProgress reports. Percentages are estimates: each step gets a weight
// (package installation dominates), and within a step apt's "Get:", "Unpacking" and "Setting up" lines are
// counted against the "N newly installed" total it announces.

#include <string>
#include <string_view>
#include <vector>

#include "template/build_progress.h"
#include "template/cellfile.h"

namespace cellblock::templates {

// Printed by the builder's hook for step N (1-based) before it runs; never shown as a log line.
inline constexpr std::string_view kStepMarker = "::cellblock-step ";

class ProgressTracker {
 public:
  ProgressTracker(const Recipe& recipe, ProgressCallback callback);

  void on_line(std::string_view line);
  // After the last step: clean-up and ownership shift (reported as a phase of the last step).
  void finishing(std::string phase);
  void done();

  double percent() const { return percent_; }
  int step() const { return step_ + 1; }

 private:
  void enter_step(int index);
  void on_base_line(std::string_view line);
  void on_apt_line(std::string_view line);
  void report(std::string_view log_line);

  struct AptCounts {
    int total = 0, fetched = 0, unpacked = 0, configured = 0;
  };

  std::vector<std::string> texts_;
  std::vector<double> weights_;
  double total_weight_ = 0;
  ProgressCallback callback_;
  int step_ = 0;         // 0-based; the FROM step runs first
  double fraction_ = 0;  // of the current step
  double percent_ = 0;   // monotonic
  std::string phase_;
  AptCounts apt_;
};

}  // namespace cellblock::templates
