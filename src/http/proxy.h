#pragma once
// A streaming HTTP/1.1 reverse proxy for one exchange: the request goes to an upstream (a sandbox agent's
// Unix socket, or TCP) as it arrives and the answer comes back as it arrives. Beast stays inside proxy.cpp;
// callers see only exchange.h types.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/abort_handle.h"
#include "http/exchange.h"

namespace cellblock::http {

struct Upstream {
  std::string unix_path;  // wins when set
  std::string host;       // an IP address or a name to resolve
  std::uint16_t port = 0;
};

struct ForwardOptions {
  Headers add_headers;                      // set on the upstream request, e.g. E2b-Sandbox-Port
  std::vector<std::string> remove_headers;  // hop-by-hop headers are always removed as well
  std::shared_ptr<AbortHandle> abort;       // optional: kill and pause cut the exchange (clients see a reset)
  std::chrono::seconds connect_timeout{5};
};

// Relays one exchange to `upstream`. The request body streams as it arrives (chunked when it came without a
// Content-Length); the response streams back as it arrives (chunked bodies are relayed per read, never
// buffered), with Content-Length, 204 and HEAD answers kept exact. Upgrade requests answered with 101 become
// a raw relay both ways until either side closes.
//
// Errors:
//   kSandboxUnavailable: nothing was written to the client and its connection is intact; the caller answers
//                        (E2B's 502 sandbox JSON). The upstream was unreachable, failed before answering, or
//                        the abort handle had already fired.
//   kCanceled:           the client went away or the exchange was aborted; the upstream connection is closed
//                        (that is how a disconnect reaches the agent) and nothing more can be sent.
//   kUnavailable:        the upstream broke mid-response; the client connection was cut without a final
//   chunk.
asio::awaitable<Status> forward(Request& request, BodyReader& body, ResponseWriter& writer,
                                const Upstream& upstream, const ForwardOptions& options);

}  // namespace cellblock::http
