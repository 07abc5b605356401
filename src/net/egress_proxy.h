#pragma once
// The transparent egress proxy: the firewall redirects the TCP connections of sandboxes with domain rules
// to ports 80 and 443 here (nft_script.h's `inspected` set). For each one it reads the first bytes (the HTTP
// Host, or the TLS SNI; traffic_peek.h) and decides as E2B does (e2b-network.md §4):
//   - a hostname matching an allowOut domain: allowed; the proxy resolves the name itself with the sandboxes'
//     resolvers and dials an address the fixed rules allow (so neither the sandbox's own DNS answers nor an
//     address it picked can stretch the rule);
//   - otherwise the original destination decides by address (allowOut CIDR, then denyOut), except that what
//     cannot be classified (not HTTP on 80, not a TLS ClientHello on 443, an encrypted ClientHello) is only
//     let through to an address allowOut names explicitly;
//   - the fixed rules (confinement, private ranges, the host's networks) apply to whatever it dials.
// A denied connection is reset and logged with the sandbox, the destination and the rule. Allowed ones are
// spliced in the kernel (splice_pump.h). A rule update re-decides the sandbox's open connections and cuts
// those it now forbids.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "common/async_primitives.h"
#include "common/error.h"
#include "net/egress_rules.h"
#include "net/nft_script.h"

namespace cellblock::net {

namespace asio = boost::asio;

// The sandbox behind a source address, and its rules.
struct EgressTenant {
  std::string sandbox_id;
  EgressRules rules;
};

class EgressProxy {
 public:
  using Lookup = std::function<std::optional<EgressTenant>(std::uint32_t sandbox_address)>;

  // Binds an ephemeral port of every host address (only redirected sandbox traffic gets there: the firewall
  // admits it, and a peer that is no sandbox is reset); start() accepts on it.
  static Result<std::unique_ptr<EgressProxy>> open(asio::any_io_executor executor, Lookup lookup);
  void start();
  ~EgressProxy();

  std::uint16_t port() const { return port_; }
  // The fixed rules and resolvers the proxy applies; set once the firewall is configured.
  void configure(FirewallConfig config) { config_ = std::move(config); }
  // Re-decides the open connections of the sandbox at `sandbox_address` under `rules` and cuts the ones it
  // now forbids; with no rules (the sandbox is gone) cuts them all.
  void revalidate(std::uint32_t sandbox_address, const std::optional<EgressRules>& rules);
  // Stops accepting and cuts every connection.
  asio::awaitable<void> stop();

 private:
  struct Connection;

  EgressProxy(asio::any_io_executor executor, asio::ip::tcp::acceptor acceptor, Lookup lookup);
  asio::awaitable<void> accept_loop();
  asio::awaitable<void> serve(asio::ip::tcp::socket client);

  asio::any_io_executor executor_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  Lookup lookup_;
  FirewallConfig config_;
  std::multimap<std::uint32_t, std::shared_ptr<Connection>> open_;  // by sandbox address
  Gate work_;
};

}  // namespace cellblock::net
