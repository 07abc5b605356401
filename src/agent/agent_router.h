#pragma once
// Routes each request to envd or the code interpreter. The E2B SDKs name the in-sandbox port in the
// `E2b-Sandbox-Port` header, and both services share paths (/health), so the header decides; without it, the
// listener's own port does (standalone TCP mode). Adds the permissive CORS headers browsers need.

#include "agent/envd/envd_service.h"
#include "agent/interpreter/interpreter_service.h"
#include "http/exchange.h"

namespace cellblock::agent {

class AgentRouter {
 public:
  AgentRouter(EnvdService& envd, interpreter::InterpreterService& interpreter)
      : envd_(envd), interpreter_(interpreter) {}

  // A handler for a listener whose requests default to `default_port` (0: the header is required).
  http::Handler handler_for(int default_port);

 private:
  asio::awaitable<void> route(int default_port, http::Request& request, http::BodyReader& body,
                              http::ResponseWriter& writer);

  EnvdService& envd_;
  interpreter::InterpreterService& interpreter_;
};

}  // namespace cellblock::agent
