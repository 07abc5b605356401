#pragma once
// Where run_code executes: the conversation's sandbox kernel. An interface, so the tool loop does not know
// how sandboxes are found or reached (web/ implements it over the sandbox manager and the agent's /execute).

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "common/error.h"
#include "http/proxy.h"

namespace cellblock::chat {

struct RunRequest {
  std::string code;
  std::string language = "python";
};

// Receives the output so far (the tool output shape) while the cell runs, at most a few times a second.
using ProgressCallback = std::function<boost::asio::awaitable<void>(const boost::json::object& output)>;

class CodeRunner {
 public:
  virtual ~CodeRunner() = default;
  // Runs the cell and returns its final output ({stdout, stderr, results, error, executionCount}); code that
  // raised is a successful run with `error` set, and so is a run cut short: by `abort` (the kernel is
  // interrupted; error KeyboardInterrupt) or by the sandbox dying (error SandboxError), keeping what the cell
  // printed. Fails only when the cell could not start (no sandbox, the agent refused it).
  virtual boost::asio::awaitable<Result<boost::json::object>> run(RunRequest request,
                                                                  ProgressCallback progress,
                                                                  std::shared_ptr<AbortHandle> abort) = 0;
};

}  // namespace cellblock::chat
