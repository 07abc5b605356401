#pragma once
// The connection file a kernel reads at start-up (jupyter.md §1.2): where its five sockets bind and the HMAC
// key. The client chooses the ports; the kernel binds, the client connects.

#include <string>

#include <boost/json.hpp>

#include "common/error.h"

namespace cellblock::jupyter {

struct ConnectionInfo {
  std::string transport = "tcp";
  std::string ip = "127.0.0.1";
  int shell_port = 0;
  int iopub_port = 0;
  int stdin_port = 0;
  int control_port = 0;
  int hb_port = 0;
  std::string signature_scheme = "hmac-sha256";
  std::string key;

  // The ZeroMQ endpoint of one of the ports, e.g. "tcp://127.0.0.1:40447".
  std::string endpoint(int port) const;
  boost::json::object to_json() const;
};

// A fresh key shaped like jupyter_client's: 8 hex, '-', 24 hex.
std::string generate_key();

// Five distinct free TCP ports on `ip` (bound to port 0 together, read back, closed: racy, as in
// jupyter_client) and a fresh key.
Result<ConnectionInfo> make_connection_info(const std::string& ip = "127.0.0.1");

// Writes the connection file with mode 0600 (it holds the key), replacing any previous file atomically.
Status write_connection_file(const ConnectionInfo& info, const std::string& path);

}  // namespace cellblock::jupyter
