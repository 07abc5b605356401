#pragma once
// Routes sandbox traffic to the sandbox's agent (e2b-api.md §2): by the E2b-Sandbox-Id / E2b-Sandbox-Port
// headers, by a Host of the form <port>-<sandboxID>.<domain> (so *.localhost works in a browser), or — for
// signed file URLs, which carry no sandbox id — by the sandbox whose token the signature matches. Dead or
// unknown sandboxes get E2B's 502 JSON; internal agent routes (/init) are never reachable from outside.

#include <optional>
#include <string>

#include "common/agent_protocol.h"
#include "http/exchange.h"
#include "sandbox/sandbox_manager.h"

namespace cellblock::proxy {

namespace asio = boost::asio;

struct Target {
  std::string sandbox_id;
  int port = agent_protocol::kEnvdPort;
};

// The sandbox a request is for, if it is sandbox traffic at all (nullopt: control plane or web app).
std::optional<Target> target_of(const http::Request& request);
// Parses "<port>-<id>.<domain>[:<listen port>]".
std::optional<Target> target_from_host(std::string_view host);

class SandboxProxy {
 public:
  explicit SandboxProxy(sandbox::SandboxManager& sandboxes) : sandboxes_(sandboxes) {}

  // Sandbox traffic that names no sandbox: a signed /files URL. Finds the sandbox by its signature.
  std::optional<Target> target_by_signature(const http::Request& request) const;
  // A signed /files request (it carries a signature), whether or not a sandbox's token made it: one that no
  // running sandbox signed gets envd's 401 "invalid signature", not the control plane's answer.
  static bool signed_file_request(const http::Request& request);
  asio::awaitable<void> serve(const Target& target, http::Request& request, http::BodyReader& body,
                              http::ResponseWriter& writer);

 private:
  std::optional<http::Response> traffic_token_refusal(const Target& target,
                                                      const http::Request& request) const;

  sandbox::SandboxManager& sandboxes_;
};

}  // namespace cellblock::proxy
