#include "app/chat_kernels.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include "app/handler_json.h"
#include "chat/stream_json.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::string_view kHome = "/home/user";
constexpr std::size_t kReplyLimit = 64 * 1024;

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
  http::ClientRequest call =
      UserSandboxes::agent_request(access, "POST", "/contexts", agent_protocol::kInterpreterPort);
  call.headers.add("Content-Type", "application/json");
  json::object body{{"language", "python"}, {"cwd", kHome}};
  call.body = json::serialize(body);
  http::ClientOptions options = UserSandboxes::agent_options(access);
  options.idle_timeout = std::chrono::seconds(60);  // a kernel starts in about a second
  auto response = co_await http::fetch(std::move(call), options);
  if (!response) co_return tl::unexpected(response.error());
  auto text = co_await (*response)->read_all(kReplyLimit);
  if (!text) co_return tl::unexpected(text.error());
  if ((*response)->status() != 200) {
    co_return fail(ErrorCode::kUnavailable, "the sandbox could not start a kernel (HTTP " +
                                                std::to_string((*response)->status()) + "): " + *text);
  }
  auto reply = chat::parse_data_object(*text);
  std::string_view id = reply ? string_member(*reply, "id") : std::string_view();
  if (id.empty())
    co_return fail(ErrorCode::kInternal, "the sandbox answered a new kernel without an id: " + *text);
  co_return std::string(id);
}

asio::awaitable<void> ChatKernels::shut_down(const SandboxAccess& access, const std::string& context_id) {
  http::ClientRequest call = UserSandboxes::agent_request(access, "DELETE", "/contexts/" + context_id,
                                                          agent_protocol::kInterpreterPort);
  auto response = co_await http::fetch(std::move(call), UserSandboxes::agent_options(access));
  if (response) {
    auto drained = co_await (*response)->read_all(kReplyLimit);
    (void)drained;
  }
  std::string problem;
  if (!response) {
    problem = response.error().message;
  } else if ((*response)->status() != 200 && (*response)->status() != 404) {
    problem = "HTTP " + std::to_string((*response)->status());
  }
  if (!problem.empty())
    spdlog::warn("sandbox {}: cannot shut kernel {} down: {}", access.id, context_id, problem);
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
