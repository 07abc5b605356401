#include "app/user_sandbox.h"

#include <cctype>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app/chat_kernels.h"
#include "chat/execution_output.h"

namespace cellblock::app {

namespace json = boost::json;

namespace {

constexpr std::string_view kAppKey = "cellblock.app";
constexpr std::string_view kAppValue = "chat";
constexpr auto kProgressInterval = std::chrono::milliseconds(150);
// Outputs are bounded: a cell printing without end must not fill the server's memory or the database.
constexpr std::size_t kFinalStreamLimit = 1024 * 1024;
constexpr std::size_t kPreliminaryStreamLimit = 32 * 1024;

json::object bounded(const json::object& output, std::size_t limit) {
  json::object copy = output;
  for (std::string_view field : {"stdout", "stderr"}) {
    std::string_view text = copy.at(field).as_string();
    if (text.size() > limit) copy[field] = chat::trim_middle(text, limit);
  }
  return copy;
}

bool is_python(std::string_view language) {
  std::string lower(language);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "python" || lower == "python3" || lower == "py";
}

// Starts running `request` in the kernel `context_id`, or in the language's default kernel when that is
// empty.
asio::awaitable<Result<sandbox::ExecuteStream>> start_execute(const SandboxAccess& access,
                                                              const chat::RunRequest& request,
                                                              const std::string& context_id,
                                                              std::shared_ptr<AbortHandle> cut) {
  sandbox::ExecuteCall call{request.code, request.language, context_id};
  co_return co_await sandbox::execute(access.route.endpoint(), std::move(call), std::move(cut));
}

}  // namespace

UserSandboxes::UserSandboxes(sandbox::SandboxManager& manager, std::string template_name,
                             std::chrono::seconds keep_alive, bool internet)
    : manager_(manager),
      template_name_(std::move(template_name)),
      keep_alive_(keep_alive),
      internet_(internet) {}

asio::awaitable<Result<SandboxAccess>> UserSandboxes::find(const std::string& user) {
  store::ListQuery query;
  query.metadata = {{std::string(kUserIdKey), user}, {std::string(kAppKey), std::string(kAppValue)}};
  query.states = {store::SandboxState::kRunning};
  query.limit = 1;
  auto page = manager_.list(query);
  if (!page) co_return tl::unexpected(page.error());
  for (const auto& record : page->records) {
    if (auto extended = co_await manager_.connect(record.id, keep_alive_.count()); !extended) continue;
    auto route = manager_.route(record.id);
    if (!route || route->abort->aborted()) continue;
    co_return SandboxAccess{record.id, *route};
  }
  co_return fail(ErrorCode::kNotFound, "no sandbox for user " + user);
}

asio::awaitable<Result<SandboxAccess>> UserSandboxes::acquire(const std::string& user) {
  // Another request of this user may be creating the sandbox right now: wait for it instead of making two.
  auto one_at_a_time = co_await creating_.lock(user);
  auto found = co_await find(user);
  if (found || found.error().code != ErrorCode::kNotFound) co_return found;
  sandbox::CreateCommand command;
  command.template_id = template_name_;
  command.timeout_seconds = keep_alive_.count();
  command.metadata = {{std::string(kUserIdKey), user}, {std::string(kAppKey), std::string(kAppValue)}};
  if (!internet_) {
    auto config = net::parse_create_network(nullptr, false);
    if (!config) co_return tl::unexpected(config.error());
    command.network = std::move(*config);
  }
  auto created = co_await manager_.create(std::move(command));
  if (!created) co_return tl::unexpected(created.error());
  auto route = manager_.route(created->id);
  if (!route) co_return fail(ErrorCode::kSandboxUnavailable, "the new sandbox stopped at once");
  co_return SandboxAccess{created->id, *route};
}

asio::awaitable<Result<sandbox::ExecuteStream>> SandboxCodeRunner::start(const SandboxAccess& access,
                                                                         const chat::RunRequest& request,
                                                                         std::shared_ptr<AbortHandle> cut) {
  const std::string default_kernel;
  if (chat_id_.empty() || !is_python(request.language)) {
    co_return co_await start_execute(access, request, default_kernel, cut);
  }
  for (int attempt = 1;; ++attempt) {
    auto context = co_await kernels_.context_for(access, chat_id_);
    if (!context) co_return tl::unexpected(context.error());
    auto stream = co_await start_execute(access, request, *context, cut);
    if (attempt > 1 || stream || stream.error().code != ErrorCode::kNotFound) co_return stream;
    // The sandbox no longer knows the chat's kernel (its agent restarted): start a fresh one, once.
    kernels_.forget(chat_id_);
  }
}

asio::awaitable<Result<json::object>> SandboxCodeRunner::run(chat::RunRequest request,
                                                             chat::ProgressCallback progress,
                                                             std::shared_ptr<AbortHandle> abort) {
  auto access = co_await sandboxes_.acquire(user_);
  if (!access) co_return tl::unexpected(access.error());
  // The call ends when the user stops the turn or when the sandbox is killed.
  auto cut = std::make_shared<AbortHandle>();
  AbortHandle::Registration by_user;
  if (abort) by_user = abort->on_abort([cut] { cut->abort(); });
  auto by_kill = access->route.abort->on_abort([cut] { cut->abort(); });

  auto stream = co_await start(*access, request, cut);
  if (!stream)
    co_return fail(stream.error().code, "the sandbox could not run the cell: " + stream.error().message);

  chat::ExecutionOutput output;
  auto last_progress = std::chrono::steady_clock::now();
  bool changed = false;
  while (!output.ended()) {
    auto line = co_await stream->next_line();
    if (!line) co_return tl::unexpected(line.error());
    if (!*line) break;
    changed = output.apply_line(**line) || changed;
    auto now = std::chrono::steady_clock::now();
    if (changed && !output.ended() && now - last_progress >= kProgressInterval) {
      last_progress = now;
      changed = false;
      co_await progress(bounded(output.json(), kPreliminaryStreamLimit));
    }
  }
  if (abort && abort->aborted()) {
    // Closing the /execute stream interrupted the kernel; what the cell printed so far is kept.
    output.set_error("KeyboardInterrupt", "stopped by the user");
  } else if (!output.ended()) {
    bool killed = access->route.abort->aborted();
    output.set_error("SandboxError", killed ? "the sandbox was stopped while the cell ran"
                                            : "the connection to the sandbox broke while the cell ran");
  }
  co_return bounded(output.json(), kFinalStreamLimit);
}

}  // namespace cellblock::app
