#pragma once
// How the server talks to a sandbox's agent: always through the sandbox's Unix socket, with the routing and
// token headers of common/agent_protocol.h. AgentControl is the lifecycle's side (hand a claimed sandbox to
// its user, keep the agent's own deadline current); the contexts are here and the app's other calls in
// agent_calls.h. agent_request() and agent_options() are what both build their requests with.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/error.h"
#include "http/client.h"

namespace cellblock::sandbox {

// Where one sandbox's agent listens, and the token it wants.
struct AgentEndpoint {
  std::string socket_path;
  std::string access_token;  // empty: none (an unclaimed sandbox)
};

// A request for `target` on the agent's service `port` (envd or the code interpreter).
http::ClientRequest agent_request(const AgentEndpoint& endpoint, std::string method, std::string target,
                                  int port);
// Options for such a request: the socket, and how long a silent answer may take (a cell may run for long).
http::ClientOptions agent_options(const AgentEndpoint& endpoint,
                                  std::chrono::milliseconds idle_timeout = std::chrono::hours(24));

// An agent's non-2xx answer (E2B's `{"code","message"}` or a Connect error) as an error value: its message,
// and the code its status means. The one mapping back from the agent's statuses.
Error agent_error(int status, std::string_view body);

// The code interpreter's contexts of a running sandbox (POST /contexts, DELETE /contexts/{id}).
boost::asio::awaitable<Result<std::string>> create_context(AgentEndpoint endpoint, std::string language,
                                                           std::string cwd);
// An unknown context is already gone: that is success.
boost::asio::awaitable<Status> delete_context(AgentEndpoint endpoint, std::string context_id);

struct ClaimRequest {
  std::map<std::string, std::string> env_vars;
  std::string access_token;                 // the sandbox's new envd token
  std::optional<std::int64_t> deadline_ms;  // unix ms; nullopt: none
};

// The lifecycle's calls to an agent. An interface so that the lifecycle can be tested with a fake agent.
class AgentControl {
 public:
  virtual ~AgentControl() = default;
  // POST /init on an unclaimed sandbox's socket; 204 expected.
  virtual boost::asio::awaitable<Status> claim(std::string socket_path, ClaimRequest request) = 0;
  // POST /init with the deadline alone (nullopt lifts it).
  virtual boost::asio::awaitable<Status> set_deadline(AgentEndpoint endpoint,
                                                      std::optional<std::int64_t> deadline_ms) = 0;
};

// The real one, over http::fetch; an agent that does not answer within 10 s is given up on.
class HttpAgentControl final : public AgentControl {
 public:
  boost::asio::awaitable<Status> claim(std::string socket_path, ClaimRequest request) override;
  boost::asio::awaitable<Status> set_deadline(AgentEndpoint endpoint,
                                              std::optional<std::int64_t> deadline_ms) override;
};

}  // namespace cellblock::sandbox
