#include "template/progress_tracker.h"
#include "template/terminal_progress.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace cellblock::templates {
namespace {

Recipe recipe() {
  auto parsed = parse_cellfile(
      "FROM debian:bookworm\n"
      "RUN apt-get update && apt-get install -y \\\n"
      "      python3 git\n"
      "ENV A=1\n"
      "RUN echo done\n");
  EXPECT_TRUE(parsed.has_value());
  return *parsed;
}

TEST(ProgressTracker, FollowsMmdebstrapPhasesStepMarkersAndAptCounts) {
  std::vector<BuildProgress> reports;
  ProgressTracker tracker(recipe(), [&](const BuildProgress& p) { reports.push_back(p); });

  tracker.on_line("I: running apt-get update...");
  EXPECT_EQ(reports.back().step, 1);
  EXPECT_EQ(reports.back().step_count, 4);
  EXPECT_EQ(reports.back().phase, "FROM debian:bookworm: running apt-get update");
  EXPECT_EQ(reports.back().log_line, "I: running apt-get update...");
  const double after_update = reports.back().percent;
  tracker.on_line("I: extracting archives...");
  EXPECT_GT(reports.back().percent, after_update);

  const auto before_marker = reports.size();
  tracker.on_line("::cellblock-step 2");
  ASSERT_EQ(reports.size(), before_marker + 1);
  EXPECT_EQ(reports.back().step, 2);
  EXPECT_TRUE(reports.back().log_line.empty());  // markers are not log lines
  EXPECT_EQ(reports.back().phase, "RUN apt-get update && apt-get install -y python3 git");
  const double step_start = reports.back().percent;

  tracker.on_line("0 upgraded, 4 newly installed, 0 to remove and 0 not upgraded.");
  for (int i = 0; i < 4; ++i) tracker.on_line("Get:1 http://mirror/debian bookworm/main amd64 pkg");
  const double fetched = reports.back().percent;
  EXPECT_GT(fetched, step_start);
  for (int i = 0; i < 4; ++i) tracker.on_line("Unpacking pkg (1.0) ...");
  const double unpacked = reports.back().percent;
  EXPECT_GT(unpacked, fetched);
  for (int i = 0; i < 4; ++i) tracker.on_line("Setting up pkg (1.0) ...");
  EXPECT_GT(reports.back().percent, unpacked);

  tracker.on_line("::cellblock-step 4");
  EXPECT_EQ(reports.back().step, 4);
  tracker.finishing("shifting ownership");
  EXPECT_EQ(reports.back().phase, "shifting ownership");
  EXPECT_LT(reports.back().percent, 100);
  tracker.done();
  EXPECT_DOUBLE_EQ(reports.back().percent, 100);

  for (std::size_t i = 1; i < reports.size(); ++i) EXPECT_GE(reports[i].percent, reports[i - 1].percent) << i;
}

TEST(ProgressTracker, IgnoresBogusMarkers) {
  std::vector<BuildProgress> reports;
  ProgressTracker tracker(recipe(), [&](const BuildProgress& p) { reports.push_back(p); });
  tracker.on_line("::cellblock-step 99");
  tracker.on_line("::cellblock-step x");
  EXPECT_TRUE(reports.empty());
  EXPECT_EQ(tracker.step(), 1);
}

TEST(RenderBar, FillsProportionally) {
  EXPECT_EQ(render_bar(0, 10), "[..........]");
  EXPECT_EQ(render_bar(50, 10), "[#####.....]");
  EXPECT_EQ(render_bar(100, 10), "[##########]");
  EXPECT_EQ(render_bar(250, 4), "[####]");
}

std::string run_renderer(bool tty, const std::vector<BuildProgress>& updates, const Error* failure) {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* out = ::open_memstream(&buffer, &size);
  {
    TerminalProgress progress(out, tty, false);
    for (const auto& update : updates) progress.update(update);
    if (failure != nullptr) {
      progress.print_failure(*failure);
    } else {
      progress.finish();
    }
  }
  std::fclose(out);
  std::string text(buffer, size);
  std::free(buffer);
  return text;
}

TEST(TerminalProgress, RedrawsOneLineOnATty) {
  const auto text = run_renderer(
      true, {{1, 3, "FROM debian:bookworm", 10, ""}, {2, 3, "RUN apt-get install", 40, "Unpacking python3"}},
      nullptr);
  EXPECT_EQ(text.front(), '\r');
  EXPECT_NE(text.find("\r[######"), std::string::npos) << text;
  EXPECT_NE(text.find(" 40%  step 2/3  RUN apt-get install  | Unpack"), std::string::npos) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);  // only finish() ends the line
  // Each redraw fits the terminal (80 columns when the width is unknown) and clears what follows.
  const auto last = text.rfind('\r');
  const auto clear = text.find("\x1b[K", last);
  ASSERT_NE(clear, std::string::npos);
  EXPECT_LE(clear - last - 1, 79u);
}

TEST(TerminalProgress, PrintsPlainLinesWithoutATtyAndTheLogTailOnFailure) {
  std::vector<BuildProgress> updates = {
      {1, 2, "FROM debian:bookworm", 5, "I: downloading"},
      {1, 2, "FROM debian:bookworm", 6, "Get:1 something"},
      {2, 2, "RUN apt-get install nope", 30, "E: Unable to locate package nope"}};
  const Error error{ErrorCode::kInternal, "step 2/2 (Cellfile line 2: RUN apt-get install nope) failed"};
  const auto text = run_renderer(false, updates, &error);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.find("\x1b"), std::string::npos);
  EXPECT_NE(text.find("[1/2]   5% FROM debian:bookworm\n[2/2]  30% RUN apt-get install nope\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("template build failed: step 2/2 (Cellfile line 2"), std::string::npos);
  EXPECT_NE(text.find("---- last 3 lines of the build log ----\nI: downloading\nGet:1 something\n"
                      "E: Unable to locate package nope\n"),
            std::string::npos)
      << text;
}

TEST(LogTail, KeepsTheLastLines) {
  LogTail tail(3);
  for (int i = 1; i <= 5; ++i) tail.add("line " + std::to_string(i));
  EXPECT_EQ(tail.lines(), (std::vector<std::string>{"line 3", "line 4", "line 5"}));
}

}  // namespace
}  // namespace cellblock::templates
