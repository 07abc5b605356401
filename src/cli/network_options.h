#pragma once
// `cellblock serve`'s networking flags, turned into the sandbox network's settings.

#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "common/error.h"
#include "net/sandbox_network.h"

namespace cellblock::cli {

struct NetworkOptions {
  std::string mode = "on";            // --sandbox-network: on | off
  std::string subnet = "auto";        // --sandbox-subnet: CIDR | auto
  std::string dns = "host";           // --sandbox-dns: host | none | IPs
  std::string egress_within = "any";  // --egress-within: any | none | CIDRs
  std::string allow_private;          // --allow-private: CIDRs
};

// The settings for a server whose state lives in `state_dir` (its instance name and default subnet derive
// from that path, so a restarted server finds its sandboxes' links again and two servers differ).
Result<net::NetworkSettings> network_settings(const NetworkOptions& options, const std::string& state_dir);
// The sandbox network those settings describe, its firewall installed.
Result<std::unique_ptr<net::SandboxNetwork>> open_network(boost::asio::any_io_executor executor,
                                                          const NetworkOptions& options,
                                                          const std::string& state_dir);

}  // namespace cellblock::cli
