#include "template/cellfile.h"

#include <gtest/gtest.h>

namespace cellblock::templates {
namespace {

Recipe parse_ok(std::string_view text) {
  auto recipe = parse_cellfile(text);
  EXPECT_TRUE(recipe.has_value()) << (recipe ? "" : recipe.error().message);
  return recipe ? *recipe : Recipe{};
}

std::string parse_error(std::string_view text) {
  auto recipe = parse_cellfile(text);
  EXPECT_FALSE(recipe.has_value());
  if (recipe) return {};
  EXPECT_EQ(recipe.error().code, ErrorCode::kInvalidArgument);
  return recipe.error().message;
}

TEST(Cellfile, ParsesEveryInstruction) {
  const auto recipe = parse_ok(
      "FROM debian:bookworm\n"
      "RUN apt-get update && apt-get install -y python3\n"
      "COPY python/ /opt/cellblock/python/\n"
      "ENV LANG=C.UTF-8 GREETING=\"hello world\"\n"
      "WORKDIR /home/user\n"
      "USER user\n");
  ASSERT_EQ(recipe.steps.size(), 6u);
  EXPECT_EQ(recipe.base.image, "debian:bookworm");
  EXPECT_EQ(recipe.base.suite, "bookworm");

  EXPECT_EQ(std::get<RunStep>(recipe.steps[1].action).command,
            "apt-get update && apt-get install -y python3");
  EXPECT_EQ(recipe.steps[1].line, 2);

  const auto& copy = std::get<CopyStep>(recipe.steps[2].action);
  EXPECT_EQ(copy.sources, std::vector<std::string>{"python/"});
  EXPECT_EQ(copy.destination, "/opt/cellblock/python/");

  const auto& env = std::get<EnvStep>(recipe.steps[3].action);
  ASSERT_EQ(env.variables.size(), 2u);
  EXPECT_EQ(env.variables[0], (std::pair<std::string, std::string>{"LANG", "C.UTF-8"}));
  EXPECT_EQ(env.variables[1], (std::pair<std::string, std::string>{"GREETING", "hello world"}));

  EXPECT_EQ(std::get<WorkdirStep>(recipe.steps[4].action).path, "/home/user");
  EXPECT_EQ(std::get<UserStep>(recipe.steps[5].action).user, "user");
  EXPECT_EQ(std::get<UserStep>(recipe.steps[5].action).group, "");
  EXPECT_EQ(instruction_name(recipe.steps[2].action), "COPY");
}

TEST(Cellfile, InstructionsAreCaseInsensitive) {
  const auto recipe = parse_ok("from debian:12\nrun true\n");
  ASSERT_EQ(recipe.steps.size(), 2u);
  EXPECT_EQ(recipe.base.suite, "bookworm");
  EXPECT_EQ(std::get<RunStep>(recipe.steps[1].action).command, "true");
}

TEST(Cellfile, JoinsContinuationsAndSkipsComments) {
  const auto recipe = parse_ok(
      "# a recipe\n"
      "\n"
      "FROM debian:bookworm\n"
      "   # indented comment\n"
      "RUN apt-get install -y \\\n"
      "      python3 \\\n"
      "      # a comment inside the continuation is dropped\n"
      "\n"
      "      git   \\  \n"
      "      sudo\n"
      "RUN echo done\r\n");
  ASSERT_EQ(recipe.steps.size(), 3u);
  const auto& run = std::get<RunStep>(recipe.steps[1].action);
  EXPECT_EQ(run.command, "apt-get install -y       python3       git         sudo");
  EXPECT_EQ(recipe.steps[1].line, 5);
  EXPECT_EQ(recipe.steps[2].line, 11);
  EXPECT_EQ(std::get<RunStep>(recipe.steps[2].action).command, "echo done");
}

TEST(Cellfile, ContinuationAtEndOfFileEndsTheInstruction) {
  const auto recipe = parse_ok("FROM debian:bookworm\nRUN echo a \\\n");
  ASSERT_EQ(recipe.steps.size(), 2u);
  EXPECT_EQ(std::get<RunStep>(recipe.steps[1].action).command, "echo a");
}

TEST(Cellfile, ResolvesRelativePathsAgainstWorkdir) {
  const auto recipe = parse_ok(
      "FROM debian:bookworm\n"
      "WORKDIR /home\n"
      "WORKDIR user/../user/\n"
      "COPY a.txt b.txt ./sub/\n"
      "COPY c.txt /etc/c.conf\n");
  EXPECT_EQ(std::get<WorkdirStep>(recipe.steps[2].action).path, "/home/user");
  const auto& copy = std::get<CopyStep>(recipe.steps[3].action);
  EXPECT_EQ(copy.sources, (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_EQ(copy.destination, "/home/user/sub/");
  EXPECT_EQ(std::get<CopyStep>(recipe.steps[4].action).destination, "/etc/c.conf");
}

TEST(Cellfile, LegacyEnvFormAndUserGroup) {
  const auto recipe = parse_ok("FROM debian:bookworm\nENV MESSAGE hello there world\nUSER user:staff\n");
  const auto& env = std::get<EnvStep>(recipe.steps[1].action);
  ASSERT_EQ(env.variables.size(), 1u);
  EXPECT_EQ(env.variables[0].first, "MESSAGE");
  EXPECT_EQ(env.variables[0].second, "hello there world");
  EXPECT_EQ(std::get<UserStep>(recipe.steps[2].action).group, "staff");
}

TEST(Cellfile, ErrorsNameTheLine) {
  EXPECT_EQ(parse_error("FROM debian:bookworm\n\n# comment\nEXPOSE 80\n"),
            "Cellfile line 4: unknown instruction 'EXPOSE'");
  EXPECT_EQ(parse_error("RUN true\n"), "Cellfile line 1: the first instruction must be FROM");
  EXPECT_NE(parse_error("FROM ubuntu:22.04\n").find("line 1: unsupported base image 'ubuntu:22.04'"),
            std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nFROM debian:bookworm\n").find("line 2"), std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nRUN\n").find("line 2: RUN needs a command"),
            std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nRUN [\"echo\", \"hi\"]\n").find("line 2: the exec"),
            std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nCOPY onlyone\n").find("line 2: COPY needs"),
            std::string::npos);
  EXPECT_NE(
      parse_error("FROM debian:bookworm\nCOPY --chown=user a /b\n").find("line 2: COPY option '--chown"),
      std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nCOPY a b /dir\n").find("line 2: COPY with several sources"),
            std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nCOPY ../secret /x\n").find("line 2: COPY source '../secret'"),
            std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nCOPY /etc/passwd /x\n").find("line 2"), std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nENV 1BAD=x\n").find("line 2: invalid variable name '1BAD'"),
            std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nENV A=\"unterminated\n").find("line 2: unterminated"),
            std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nWORKDIR /a /b\n").find("line 2: WORKDIR"), std::string::npos);
  EXPECT_NE(parse_error("FROM debian:bookworm\nUSER 1000\n").find("line 2: USER '1000'"), std::string::npos);
  // The line of a continued instruction is the line it starts on.
  EXPECT_NE(parse_error("FROM debian:bookworm\nRUN true\nBOGUS a \\\n  b\n").find("line 3: unknown"),
            std::string::npos);
  EXPECT_FALSE(parse_cellfile("# only a comment\n").has_value());
}

}  // namespace
}  // namespace cellblock::templates
