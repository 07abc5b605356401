#pragma once
// Shows a template build on a terminal: a progress bar redrawn in place when the output is a TTY, plain lines
// (one per step or phase change) otherwise, e.g. in CI logs. It keeps the last lines of the build log so that
// a failure can show what went wrong (an apt error, a failing RUN command).

#include <chrono>
#include <cstdio>
#include <string>

#include "common/error.h"
#include "template/build_progress.h"

namespace cellblock::templates {

class TerminalProgress {
 public:
  // `out` is not owned. `verbose` also prints every log line (plain mode only).
  explicit TerminalProgress(std::FILE* out = stdout, bool verbose = false);
  TerminalProgress(std::FILE* out, bool tty, bool verbose);

  void update(const BuildProgress& progress);
  ProgressCallback callback() {
    return [this](const BuildProgress& progress) { update(progress); };
  }

  // Ends the bar's line. Call once the build has returned, before printing anything else.
  void finish();
  // The error, then the kept tail of the log.
  void print_failure(const Error& error);

  const LogTail& log() const { return log_; }

 private:
  void draw_bar(const BuildProgress& progress);
  void print_line(const BuildProgress& progress);

  std::FILE* out_;
  bool tty_;
  bool verbose_;
  bool bar_drawn_ = false;
  int last_step_ = -1;
  int last_decade_ = -1;
  std::string last_phase_;
  std::string last_log_line_;
  std::chrono::steady_clock::time_point last_draw_{};
  LogTail log_;
};

// Renders "[#####.....]" of `width` cells for `percent`.
std::string render_bar(double percent, int width);

}  // namespace cellblock::templates
