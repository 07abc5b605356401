#pragma once
// The app's user's sandbox: found by the metadata `userID` (or created), kept alive while it is used, and
// reached through its agent's Unix socket — run_code executions (/execute), file listing, upload and
// download.

#include <chrono>
#include <set>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include "chat/code_runner.h"
#include "common/async_primitives.h"
#include "common/error.h"
#include "http/client.h"
#include "http/exchange.h"
#include "sandbox/agent_calls.h"
#include "sandbox/sandbox_manager.h"

namespace cellblock::app {

namespace asio = boost::asio;

struct SandboxAccess {
  std::string id;
  sandbox::Route route;
};

class UserSandboxes {
 public:
  // `internet`: whether the users' sandboxes reach the internet (allow_internet_access).
  UserSandboxes(sandbox::SandboxManager& manager, std::string template_name, std::chrono::seconds keep_alive,
                bool internet = true);

  // The user's running sandbox (its lifetime extended to at least `keep_alive` from now), or a new one.
  asio::awaitable<Result<SandboxAccess>> acquire(const std::string& user);

 private:
  asio::awaitable<Result<SandboxAccess>> find(const std::string& user);

  sandbox::SandboxManager& manager_;
  std::string template_name_;
  std::chrono::seconds keep_alive_;
  bool internet_;
  KeyedMutex creating_;  // per user: their sandbox is being looked up or created
};

class ChatKernels;

// Runs run_code cells in a user's sandbox through the agent's /execute NDJSON stream: Python cells of a chat
// in that chat's own kernel, anything else in the sandbox's default kernel for the language.
class SandboxCodeRunner : public chat::CodeRunner {
 public:
  SandboxCodeRunner(UserSandboxes& sandboxes, ChatKernels& kernels, std::string user, std::string chat_id)
      : sandboxes_(sandboxes), kernels_(kernels), user_(std::move(user)), chat_id_(std::move(chat_id)) {}
  asio::awaitable<Result<boost::json::object>> run(chat::RunRequest request, chat::ProgressCallback progress,
                                                   std::shared_ptr<AbortHandle> abort) override;

 private:
  // Starts the cell in the chat's own kernel, or in the default kernel for its language.
  asio::awaitable<Result<sandbox::ExecuteStream>> start(const SandboxAccess& access,
                                                        const chat::RunRequest& request,
                                                        std::shared_ptr<AbortHandle> cut);

  UserSandboxes& sandboxes_;
  ChatKernels& kernels_;
  std::string user_;
  std::string chat_id_;  // empty: no conversation (the default kernel)
};

inline constexpr std::string_view kUserIdKey = "userID";

}  // namespace cellblock::app
