#include "template/terminal_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace cellblock::templates {
namespace {

constexpr int kBarWidth = 30;
constexpr auto kRedrawInterval = std::chrono::milliseconds(50);

int terminal_columns(std::FILE* out) {
  winsize size{};
  if (::ioctl(::fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  return 80;
}

// Cuts to `columns` bytes without splitting a UTF-8 sequence.
std::string fit(std::string text, std::size_t columns) {
  if (text.size() <= columns) return text;
  std::size_t cut = columns;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  return text;
}

}  // namespace

std::string render_bar(double percent, int width) {
  const int filled = std::clamp(static_cast<int>(std::lround(percent / 100.0 * width)), 0, width);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(width - filled), '.') + "]";
}

TerminalProgress::TerminalProgress(std::FILE* out, bool verbose)
    : TerminalProgress(out, ::isatty(::fileno(out)) == 1, verbose) {}

TerminalProgress::TerminalProgress(std::FILE* out, bool tty, bool verbose)
    : out_(out), tty_(tty), verbose_(verbose) {}

void TerminalProgress::update(const BuildProgress& progress) {
  if (!progress.log_line.empty()) {
    log_.add(progress.log_line);
    last_log_line_ = progress.log_line;
  }
  if (tty_) {
    draw_bar(progress);
  } else {
    print_line(progress);
  }
}

void TerminalProgress::draw_bar(const BuildProgress& progress) {
  const auto now = std::chrono::steady_clock::now();
  const bool changed = progress.step != last_step_ || progress.phase != last_phase_;
  if (!changed && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  last_step_ = progress.step;
  last_phase_ = progress.phase;

  std::string line = fmt::format("{} {:3.0f}%  step {}/{}  {}", render_bar(progress.percent, kBarWidth),
                                 progress.percent, progress.step, progress.step_count, progress.phase);
  if (!last_log_line_.empty()) line += "  | " + last_log_line_;
  // \r returns to the start of the line, \x1b[K clears what a longer previous line left behind.
  fmt::print(out_, "\r{}\x1b[K", fit(std::move(line), static_cast<std::size_t>(terminal_columns(out_) - 1)));
  std::fflush(out_);
  bar_drawn_ = true;
}

void TerminalProgress::print_line(const BuildProgress& progress) {
  // A line per step or phase, and one per 10 % inside long steps so that CI logs show the build moving.
  const int decade = static_cast<int>(progress.percent / 10);
  if (progress.step != last_step_ || progress.phase != last_phase_ || decade != last_decade_) {
    last_step_ = progress.step;
    last_phase_ = progress.phase;
    last_decade_ = decade;
    fmt::print(out_, "[{}/{}] {:3.0f}% {}\n", progress.step, progress.step_count, progress.percent,
               progress.phase);
  }
  if (verbose_ && !progress.log_line.empty()) fmt::print(out_, "    {}\n", progress.log_line);
  std::fflush(out_);
}

void TerminalProgress::finish() {
  if (bar_drawn_) fmt::print(out_, "\n");
  bar_drawn_ = false;
  std::fflush(out_);
}

void TerminalProgress::print_failure(const Error& error) {
  finish();
  fmt::print(out_, "template build failed: {}\n", error.message);
  const auto lines = log_.lines();
  if (!lines.empty()) {
    fmt::print(out_, "---- last {} lines of the build log ----\n", lines.size());
    for (const auto& line : lines) fmt::print(out_, "{}\n", line);
    fmt::print(out_, "---- end of the build log ----\n");
  }
  std::fflush(out_);
}

}  // namespace cellblock::templates
