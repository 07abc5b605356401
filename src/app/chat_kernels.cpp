#include "app/chat_kernels.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

namespace cellblock::app {

namespace {

constexpr std::string_view kHome = "/home/user";

}  // namespace

ChatKernels::ChatKernels(store::KernelStore& store, sandbox::SandboxManager& manager)
    : store_(store), manager_(manager) {}

asio::awaitable<Result<std::string>> ChatKernels::context_for(const SandboxAccess& access,
                                                              const std::string& chat_id) {
  // One context per chat: a second request for the same chat waits for the first one's.
  auto one_at_a_time = co_await creating_.lock(chat_id);
  auto known = store_.find(chat_id);
  if (!known) co_return tl::unexpected(known.error());
  if (*known && (*known)->sandbox_id == access.id) {
    if (auto touched = store_.touch(chat_id); !touched) co_return tl::unexpected(touched.error());
    co_return (*known)->context_id;
  }
  auto created = co_await create(access);
  if (!created) co_return tl::unexpected(created.error());
  if (auto recorded = store_.put(chat_id, access.id, *created); !recorded) {
    co_await shut_down(access, *created);
    co_return tl::unexpected(recorded.error());
  }
  // Shutting a kernel down takes a moment: the new conversation's cell does not wait for it.
  asio::co_spawn(co_await asio::this_coro::executor, evict_beyond_limit(access), asio::detached);
  co_return created;
}

void ChatKernels::forget(const std::string& chat_id) {
  if (auto forgotten = store_.forget(chat_id); !forgotten) {
    spdlog::warn("chat {}: cannot forget its kernel: {}", chat_id, forgotten.error().message);
  }
}

asio::awaitable<void> ChatKernels::remove(const std::string& chat_id) {
  auto known = store_.find(chat_id);
  if (!known || !*known) co_return;
  const store::ChatKernel kernel = **known;
  forget(chat_id);
  auto route = manager_.route(kernel.sandbox_id);
  if (!route || route->abort->aborted()) co_return;  // the sandbox and its kernels are gone already
  SandboxAccess access{kernel.sandbox_id, *route};
  co_await shut_down(access, kernel.context_id);
}

asio::awaitable<Result<std::string>> ChatKernels::create(const SandboxAccess& access) {
  // g++ 12: every argument a named local, no temporaries inside the co_await expression.
  sandbox::AgentEndpoint endpoint = access.route.endpoint();
  std::string language = "python";
  std::string cwd(kHome);
  co_return co_await sandbox::create_context(std::move(endpoint), std::move(language), std::move(cwd));
}

asio::awaitable<void> ChatKernels::shut_down(const SandboxAccess& access, const std::string& context_id) {
  sandbox::AgentEndpoint endpoint = access.route.endpoint();
  if (Status gone = co_await sandbox::delete_context(std::move(endpoint), context_id); !gone) {
    spdlog::warn("sandbox {}: cannot shut kernel {} down: {}", access.id, context_id, gone.error().message);
  }
}

asio::awaitable<void> ChatKernels::evict_beyond_limit(SandboxAccess access) {
  auto kernels = store_.in_sandbox(access.id);
  if (!kernels) {
    spdlog::warn("sandbox {}: cannot list its kernels: {}", access.id, kernels.error().message);
    co_return;
  }
  for (std::size_t i = kMaxKernels; i < kernels->size(); ++i) {
    const store::ChatKernel& oldest = (*kernels)[i];
    spdlog::info("sandbox {}: shutting down the kernel of chat {} (used least recently)", access.id,
                 oldest.chat_id);
    forget(oldest.chat_id);
    co_await shut_down(access, oldest.context_id);
  }
}

}  // namespace cellblock::app
