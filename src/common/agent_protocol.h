#pragma once
// The contract between cellblock serve and cellblock-agent, in one place: which "ports" the agent serves on
// its one Unix socket, the headers that route and authorise a request, where the socket and the readiness
// descriptor sit, and the routes only the server may call. Both sides include this header; nothing else
// spells these values.

#include <string_view>

namespace cellblock::agent_protocol {

// E2B's in-sandbox ports: envd and the code interpreter. Any other port is relayed to 127.0.0.1:PORT inside.
inline constexpr int kEnvdPort = 49983;
inline constexpr int kInterpreterPort = 49999;

// Which in-sandbox port a request is for (the SDKs send it; the proxy sets it from the Host name too).
inline constexpr std::string_view kPortHeader = "E2b-Sandbox-Port";
// Which sandbox a request is for (SDK → server only; the agent ignores it).
inline constexpr std::string_view kSandboxIdHeader = "E2b-Sandbox-Id";
// The sandbox's envd access token.
inline constexpr std::string_view kAccessTokenHeader = "X-Access-Token";

// The agent's socket inside the sandbox; the host reaches it at <sandbox_dir>/run/agent.sock.
inline constexpr std::string_view kSocketInSandbox = "/run/cellblock/agent.sock";
// The agent's flag naming an inherited descriptor on which it writes one byte once its default kernel is
// ready, then closes it: the server waits for that byte, and end of file without it means the agent died
// starting.
inline constexpr std::string_view kReadyFdFlag = "--ready-fd";

// envd's server-only route (through the socket, never through the proxy):
// POST /init {"envVars": {..}, "accessToken": "..", "deadline": <unix ms> | null} hands a claimed sandbox to
// its user (204), and is sent again, with the deadline alone, whenever the sandbox's lifetime changes. Past
// the deadline the agent ends the sandbox by itself, so a sandbox never outlives its timeout by more than the
// grace the server adds, even while the server is down; null lifts it (a sandbox about to be frozen).
inline constexpr std::string_view kInitPath = "/init";
inline constexpr std::string_view kDeadlineField = "deadline";

// True for a request the proxy must refuse: it names a server-only route of envd.
constexpr bool server_only_route(int port, std::string_view path) {
  return port == kEnvdPort && path.starts_with(kInitPath) &&
         (path.size() == kInitPath.size() || path[kInitPath.size()] == '/');
}

}  // namespace cellblock::agent_protocol
