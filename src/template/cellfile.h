#pragma once
// The recipe format of a template: a `Cellfile`, a small subset of the Dockerfile language.
//
//   FROM debian:bookworm     the base, made with mmdebstrap from the host's apt sources (comes first)
//   RUN <shell command>      /bin/sh -c inside the new root, as the current USER, in WORKDIR
//   COPY <src>... <dest>     files from the recipe directory (or the repository) into the root
//   ENV K=V [K2="v 2" ...]   variables for later RUN steps and for the sandbox's processes
//   WORKDIR <dir>            directory of later RUN steps and of the sandbox (created if missing)
//   USER <name>[:<group>]    user of later RUN steps and of the sandbox
//
// Lines ending in a backslash continue on the next line; lines starting with '#' are comments (also inside
// a continuation, as in Docker). Rejected with the line number: other instructions, exec (JSON) forms, COPY
// flags such as --chown or --from. $VAR is only expanded in RUN (by its shell).

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/error.h"

namespace cellblock::templates {

struct FromStep {
  std::string image;  // as written, e.g. "debian:bookworm"
  std::string suite;  // the Debian suite it names, e.g. "bookworm"
};
struct RunStep {
  std::string command;  // given to /bin/sh -c
};
struct CopyStep {
  std::vector<std::string> sources;  // relative to the recipe directory (or the repository root)
  std::string destination;           // absolute; a trailing '/' means "into this directory"
};
struct EnvStep {
  std::vector<std::pair<std::string, std::string>> variables;
};
struct WorkdirStep {
  std::string path;  // absolute and normalised (a relative WORKDIR is resolved against the previous one)
};
struct UserStep {
  std::string user;
  std::string group;  // empty: the user's primary group
};

using StepAction = std::variant<FromStep, RunStep, CopyStep, EnvStep, WorkdirStep, UserStep>;

struct Step {
  int line = 0;      // 1-based line of the instruction's first line
  std::string text;  // the instruction as written (continuations joined), for progress and errors
  StepAction action;
};

struct Recipe {
  FromStep base;            // also present as steps.front()
  std::vector<Step> steps;  // every instruction in order, FROM first
};

// Parses a Cellfile. Errors are kInvalidArgument with a message "Cellfile line <n>: <what is wrong>".
Result<Recipe> parse_cellfile(std::string_view text);

// "RUN", "COPY", ... for a step (used in progress text).
std::string_view instruction_name(const StepAction& action);

}  // namespace cellblock::templates
