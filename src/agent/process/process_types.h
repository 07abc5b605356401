#pragma once
// The data of envd's process.Process service, free of any wire format: what to start, and the events a
// process produces (the lead's Connect-RPC glue maps them to `{"event":{"start"|"data"|"end":…}}`).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "agent/process/user.h"

namespace cellblock::agent {

struct ProcessConfig {
  std::string cmd;
  std::vector<std::string> args;
  std::map<std::string, std::string> envs;
  std::optional<std::string> cwd;
};

struct PtySize {
  std::uint32_t cols = 80;
  std::uint32_t rows = 24;
};

struct StartSpec {
  ProcessConfig config;
  std::optional<PtySize> pty;
  std::optional<std::string> tag;
  // Without it the child's stdin is /dev/null. Ignored with a PTY (the terminal is the input).
  bool stdin_open = false;
  UserSpec user;
  // The process lifetime (Connect-Timeout-Ms): when it elapses the process group is killed and the End event
  // carries deadline_exceeded.
  std::optional<std::chrono::milliseconds> timeout;
};

struct StartEvent {
  std::uint32_t pid = 0;
};

enum class OutputStream { kStdout, kStderr, kPty };

struct DataEvent {
  OutputStream stream = OutputStream::kStdout;
  std::string bytes;
};

struct EndEvent {
  // The exit code, or -1 when a signal ended the process (as Go's ProcessState.ExitCode()).
  int exit_code = 0;
  // True when the process called exit (Go's ProcessState.Exited()).
  bool exited = false;
  // Go's ProcessState.String(): "exit status 3", "signal: killed".
  std::string status;
  // Go's cmd.Wait() error as reference envd reports it: the status when unsuccessful, "deadline_exceeded"
  // when the lifetime elapsed; none for exit 0.
  std::optional<std::string> error;
  // The process was killed because StartSpec::timeout elapsed: end the RPC stream with `deadline_exceeded`.
  bool deadline_exceeded = false;
};

using ProcessEvent = std::variant<StartEvent, DataEvent, EndEvent>;

}  // namespace cellblock::agent
