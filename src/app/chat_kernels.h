#pragma once
// Each conversation has its own kernel: a code-interpreter context in the user's sandbox, so one
// conversation's variables never show up in another while their files stay shared (/home/user). Which context
// serves a chat is kept in SQLite, so a conversation finds its variables again after the server restarts. A
// sandbox keeps at most kMaxKernels of them; past that the least recently used one is removed, and its
// conversation starts a fresh kernel when it runs code again. (The agent keeps a kernel ready for the next
// context, so a new conversation does not wait for one to start.)

#include <cstddef>
#include <set>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "app/user_sandbox.h"
#include "common/async_primitives.h"
#include "common/error.h"
#include "sandbox/sandbox_manager.h"
#include "store/kernel_store.h"

namespace cellblock::app {

class ChatKernels {
 public:
  static constexpr std::size_t kMaxKernels = 4;

  ChatKernels(store::KernelStore& store, sandbox::SandboxManager& manager);

  // The context that runs `chat_id`'s cells in `access`'s sandbox; created when the chat has none there.
  asio::awaitable<Result<std::string>> context_for(const SandboxAccess& access, const std::string& chat_id);
  // Drops the record of a context its sandbox no longer knows.
  void forget(const std::string& chat_id);
  // Shuts the chat's kernel down, if it still runs (the chat is being deleted).
  asio::awaitable<void> remove(const std::string& chat_id);

 private:
  asio::awaitable<Result<std::string>> create(const SandboxAccess& access);
  asio::awaitable<void> shut_down(const SandboxAccess& access, const std::string& context_id);
  asio::awaitable<void> evict_beyond_limit(SandboxAccess access);  // by value: it runs on its own

  store::KernelStore& store_;
  sandbox::SandboxManager& manager_;
  KeyedMutex creating_;  // per chat: its context is being looked up or created
};

}  // namespace cellblock::app
