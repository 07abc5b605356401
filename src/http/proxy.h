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

#include "http/exchange.h"

namespace cellblock::http {

struct Upstream {
  std::string unix_path;  // wins when set
  std::string host;       // an IP address or a name to resolve
  std::uint16_t port = 0;
};

// Lets the owner of a sandbox cut every proxied exchange at once (kill): both sides of each exchange are
// closed abruptly, without a final chunk, so clients see a reset (e2b-api.md §9 item 1). Once aborted,
// forward() refuses new exchanges with kSandboxUnavailable. Use only on the server's executor (post to it
// from elsewhere).
class AbortHandle : public std::enable_shared_from_this<AbortHandle> {
 public:
  // Unregisters its callback when destroyed.
  class Registration {
   public:
    Registration() = default;
    Registration(std::shared_ptr<AbortHandle> owner, std::uint64_t id) : owner_(std::move(owner)), id_(id) {}
    Registration(Registration&& other) noexcept;
    Registration& operator=(Registration&& other) noexcept;
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration();

   private:
    std::shared_ptr<AbortHandle> owner_;
    std::uint64_t id_ = 0;
  };

  void abort();
  bool aborted() const { return aborted_; }
  // Runs `cut` on abort() (at once if already aborted) until the registration is dropped. The handle must be
  // owned by a shared_ptr.
  [[nodiscard]] Registration on_abort(std::function<void()> cut);

 private:
  bool aborted_ = false;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, std::function<void()>> cuts_;
};

struct ForwardOptions {
  Headers add_headers;                      // set on the upstream request, e.g. E2b-Sandbox-Port
  std::vector<std::string> remove_headers;  // hop-by-hop headers are always removed as well
  std::shared_ptr<AbortHandle> abort;       // optional
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
