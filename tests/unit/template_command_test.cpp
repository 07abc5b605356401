#include "template/command_runner.h"
#include "template/template_builder.h"

#include <thread>

#include <gtest/gtest.h>

namespace cellblock::templates {
namespace {

std::vector<std::string> collect(const std::vector<std::string>& argv, Result<int>& result,
                                 const CommandOptions& options = {}) {
  std::vector<std::string> lines;
  result = run_command(
      argv, [&](std::string_view line) { lines.emplace_back(line); }, options);
  return lines;
}

TEST(RunCommand, SplitsMergedOutputIntoLines) {
  Result<int> result = 0;
  const auto lines = collect(
      {"/bin/sh", "-c", "printf 'one\\ntwo\\rthree\\n'; echo err >&2; printf 'no newline'; exit 3"}, result);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 3);
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three", "err", "no newline"}));
}

TEST(RunCommand, PassesExtraEnvironmentAndNoStdin) {
  Result<int> result = 0;
  const auto lines = collect({"/bin/sh", "-c", "echo \"$CELLBLOCK_TEST_VAR\"; cat; echo after"}, result,
                             CommandOptions{{"CELLBLOCK_TEST_VAR=hello"}, nullptr});
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 0);
  EXPECT_EQ(lines, (std::vector<std::string>{"hello", "after"}));
}

TEST(RunCommand, ReportsSignalsAndMissingPrograms) {
  Result<int> result = 0;
  collect({"/bin/sh", "-c", "kill -KILL $$"}, result);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(*result, 128 + 9);

  collect({"/nonexistent/program"}, result);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
}

TEST(RunCommand, CancelStopsTheChild) {
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto started = std::chrono::steady_clock::now();
  Result<int> result = 0;
  collect({"/bin/sh", "-c", "exec sleep 30"}, result, CommandOptions{{}, &cancel});
  canceller.join();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kCanceled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

// mmdebstrap's main process ignores SIGTERM while its worker runs; cancelling must reach the worker too.
TEST(RunCommand, CancelReachesTheWholeProcessGroup) {
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel = true;
  });
  const auto started = std::chrono::steady_clock::now();
  Result<int> result = 0;
  collect({"/bin/sh", "-c", "sleep 30 & trap '' TERM; wait"}, result, CommandOptions{{}, &cancel});
  canceller.join();
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kCanceled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(ShellQuote, SurvivesTheShell) {
  const std::string tricky = "it's a \"test\" $HOME `id` \\ end";
  Result<int> result = 0;
  const auto lines = collect({"/bin/sh", "-c", "printf '%s\\n' " + shell_quote(tricky)}, result);
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(lines, std::vector<std::string>{tricky});
}

}  // namespace
}  // namespace cellblock::templates
