#include "agent/envd/filesystem_rpc.h"
#include "common/async_primitives.h"

#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "agent/fs/dir_watcher.h"
#include "agent/fs/entry_info.h"
#include "agent/fs/fs_operations.h"
#include "agent/fs/path_resolve.h"

namespace cellblock::agent {
namespace {

namespace json = boost::json;
using namespace boost::asio::experimental::awaitable_operators;

json::object entry_message(const EntryInfo& entry) {
  json::object out;
  out["entry"] = to_json(entry);
  return out;
}

// Reads a path field and resolves it for the calling user.
Result<std::string> path_field(const json::object& message, std::string_view name, const UserSpec& user) {
  auto path = string_field(message, name, true);
  if (!path) return tl::unexpected(path.error());
  if (path->empty())
    return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' must not be empty");
  return resolve_path(*path, user);
}

Result<WatchOptions> watch_options(const json::object& message, const UserSpec& user) {
  if (auto ok = expect_known_fields(message, {"path", "recursive", "includeEntry", "allowNetworkMounts"},
                                    "WatchDirRequest");
      !ok) {
    return tl::unexpected(ok.error());
  }
  WatchOptions options;
  auto path = path_field(message, "path", user);
  if (!path) return tl::unexpected(path.error());
  options.path = std::move(*path);
  auto recursive = bool_field(message, "recursive");
  auto include_entry = bool_field(message, "includeEntry");
  auto network = bool_field(message, "allowNetworkMounts");
  if (!recursive) return tl::unexpected(recursive.error());
  if (!include_entry) return tl::unexpected(include_entry.error());
  if (!network) return tl::unexpected(network.error());
  options.recursive = *recursive;
  options.include_entry = *include_entry;
  return options;
}

json::object oneof(const char* name, json::value value) {
  json::object out;
  out[name] = std::move(value);
  return out;
}

}  // namespace

asio::awaitable<void> FilesystemRpc::serve(std::string_view method, http::Request& request,
                                           http::BodyReader& body, http::ResponseWriter& writer) {
  if (method == "WatchDir") {
    co_await serve_stream(request, body, writer, [this](const json::object& m, RpcContext& c, RpcStream& s) {
      return watch_dir(m, c, s);
    });
    co_return;
  }
  static constexpr std::string_view kUnary[] = {
      "Stat", "MakeDir", "Move", "ListDir", "Remove", "CreateWatcher", "GetWatcherEvents", "RemoveWatcher"};
  if (std::find(std::begin(kUnary), std::end(kUnary), method) == std::end(kUnary)) {
    co_await send_rpc_error(writer, ErrorCode::kUnimplemented,
                            "unknown method filesystem.Filesystem/" + std::string(method));
    co_return;
  }
  UnaryMethod unary = [this, name = std::string(method)](const json::object& message, RpcContext& context)
      -> asio::awaitable<Result<json::object>> { co_return call(name, message, context); };
  co_await serve_unary(request, body, writer, unary);
}

Result<json::object> FilesystemRpc::call(std::string_view method, const json::object& message,
                                         const RpcContext& context) {
  auto user = resolve_user(users_, context.user);
  if (!user) return tl::unexpected(user.error());

  if (method == "Stat" || method == "MakeDir" || method == "Remove") {
    if (auto ok = expect_known_fields(message, {"path"}, std::string(method) + "Request"); !ok) {
      return tl::unexpected(ok.error());
    }
    auto path = path_field(message, "path", *user);
    if (!path) return tl::unexpected(path.error());
    if (method == "Remove") {
      if (auto ok = remove_path(*path); !ok) return tl::unexpected(ok.error());
      return json::object{};
    }
    auto entry = method == "Stat" ? stat_entry(*path) : make_dir(*path, *user);
    if (!entry) return tl::unexpected(entry.error());
    return entry_message(*entry);
  }
  if (method == "Move") {
    if (auto ok = expect_known_fields(message, {"source", "destination"}, "MoveRequest"); !ok) {
      return tl::unexpected(ok.error());
    }
    auto source = path_field(message, "source", *user);
    if (!source) return tl::unexpected(source.error());
    auto destination = path_field(message, "destination", *user);
    if (!destination) return tl::unexpected(destination.error());
    auto entry = move(*source, *destination, *user);
    if (!entry) return tl::unexpected(entry.error());
    return entry_message(*entry);
  }
  if (method == "ListDir") {
    if (auto ok = expect_known_fields(message, {"path", "depth"}, "ListDirRequest"); !ok) {
      return tl::unexpected(ok.error());
    }
    auto path = path_field(message, "path", *user);
    if (!path) return tl::unexpected(path.error());
    auto depth = int_field(message, "depth", 1);
    if (!depth) return tl::unexpected(depth.error());
    if (*depth < 0 || *depth > 64) return fail(ErrorCode::kInvalidArgument, "depth must be between 1 and 64");
    auto entries = list_dir(*path, *depth == 0 ? 1 : static_cast<int>(*depth));
    if (!entries) return tl::unexpected(entries.error());
    json::array items;
    for (const auto& entry : *entries) items.push_back(to_json(entry));
    return oneof("entries", std::move(items));
  }
  if (method == "CreateWatcher") {
    auto options = watch_options(message, *user);
    if (!options) return tl::unexpected(options.error());
    auto id = watchers_.create(std::move(*options));
    if (!id) return tl::unexpected(id.error());
    return oneof("watcherId", json::string(*id));
  }
  // GetWatcherEvents and RemoveWatcher
  if (auto ok = expect_known_fields(message, {"watcherId"}, std::string(method) + "Request"); !ok) {
    return tl::unexpected(ok.error());
  }
  auto id = string_field(message, "watcherId", true);
  if (!id) return tl::unexpected(id.error());
  if (method == "RemoveWatcher") {
    if (auto ok = watchers_.remove(*id); !ok) return tl::unexpected(ok.error());
    return json::object{};
  }
  auto events = watchers_.take_events(*id);
  if (!events) return tl::unexpected(events.error());
  json::array items;
  for (const auto& event : *events) items.push_back(to_json(event));
  return oneof("events", std::move(items));
}

asio::awaitable<Status> FilesystemRpc::watch_dir(const json::object& message, RpcContext& context,
                                                 RpcStream& stream) {
  auto user = resolve_user(users_, context.user);
  if (!user) co_return tl::unexpected(user.error());
  auto options = watch_options(message, *user);
  if (!options) co_return tl::unexpected(options.error());
  auto watcher = DirWatcher::create(co_await asio::this_coro::executor, std::move(*options));
  if (!watcher) co_return tl::unexpected(watcher.error());
  const json::object start = oneof("start", json::object{});
  if (!co_await stream.send(start)) co_return Status{};

  const auto deadline = context.timeout ? std::chrono::steady_clock::now() + *context.timeout
                                        : std::chrono::steady_clock::time_point::max();
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) co_return fail(ErrorCode::kDeadlineExceeded, "watch timeout");
    auto wait = std::min<std::chrono::steady_clock::duration>(context.keepalive_interval, deadline - now);
    auto next = co_await ((*watcher)->next() || sleep_for(wait) || stream.wait_client_closed());
    if (next.index() == 2) co_return Status{};
    if (next.index() == 1) {
      if (std::chrono::steady_clock::now() >= deadline)
        co_return fail(ErrorCode::kDeadlineExceeded, "watch timeout");
      const json::object keepalive = oneof("keepalive", json::object{});
      if (!co_await stream.send(keepalive)) co_return Status{};
      continue;
    }
    auto& event = std::get<0>(next);
    if (!event) co_return fail(ErrorCode::kNotFound, "the watched directory is gone");
    const json::object message = oneof("filesystem", to_json(*event));
    if (!co_await stream.send(message)) co_return Status{};
  }
}

}  // namespace cellblock::agent
