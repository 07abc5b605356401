#pragma once
// envd's `filesystem.Filesystem` service over Connect (e2b-api.md §5.5).

#include <string_view>

#include "agent/envd/connect_rpc.h"
#include "agent/fs/watcher_registry.h"
#include "agent/process/user.h"

namespace cellblock::agent {

class FilesystemRpc {
 public:
  FilesystemRpc(WatcherRegistry& watchers, const AgentUsers& users) : watchers_(watchers), users_(users) {}

  asio::awaitable<void> serve(std::string_view method, http::Request& request, http::BodyReader& body,
                              http::ResponseWriter& writer);

 private:
  Result<boost::json::object> call(std::string_view method, const boost::json::object& message,
                                   const RpcContext& context);
  asio::awaitable<Status> watch_dir(const boost::json::object& message, RpcContext& context,
                                    RpcStream& stream);

  WatcherRegistry& watchers_;
  const AgentUsers& users_;
};

}  // namespace cellblock::agent
