#pragma once
// envd's `process.Process` service over Connect (e2b-api.md §5.4): parses each method's JSON into the process
// module's typed requests and maps its events back to protobuf JSON.

#include <string_view>

#include "agent/envd/connect_rpc.h"
#include "agent/process/process_table.h"
#include "agent/process/user.h"

namespace cellblock::agent {

class ProcessRpc {
 public:
  ProcessRpc(ProcessTable& table, const AgentUsers& users) : table_(table), users_(users) {}

  // Serves /process.Process/<method>; unknown methods answer unimplemented.
  asio::awaitable<void> serve(std::string_view method, http::Request& request, http::BodyReader& body,
                              http::ResponseWriter& writer);

 private:
  asio::awaitable<Status> start(const boost::json::object& message, RpcContext& context, RpcStream& stream);
  asio::awaitable<Status> connect(const boost::json::object& message, RpcContext& context, RpcStream& stream);
  asio::awaitable<Status> stream_input(http::Request& request, http::BodyReader& body,
                                       http::ResponseWriter& writer);
  Result<boost::json::object> list() const;
  Result<boost::json::object> send_input(const boost::json::object& message);
  Result<boost::json::object> send_signal(const boost::json::object& message);
  Result<boost::json::object> close_stdin(const boost::json::object& message);
  Result<boost::json::object> update(const boost::json::object& message);
  Result<std::shared_ptr<Process>> select(const boost::json::object& message) const;

  ProcessTable& table_;
  const AgentUsers& users_;
};

}  // namespace cellblock::agent
