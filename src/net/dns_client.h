#pragma once
// Resolves a hostname's IPv4 addresses by asking the sandboxes' resolvers directly (UDP, then TCP when the
// answer is truncated), never through the host's resolver: the egress proxy dials what the name resolves to
// for the sandbox, so /etc/hosts tricks inside it or on the host change nothing.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "common/error.h"

namespace cellblock::net {

namespace asio = boost::asio;

// Asks each resolver in turn (each within `timeout`) until one answers; its answer is final (NXDOMAIN is
// kNotFound). kUnavailable when none answered.
asio::awaitable<Result<std::vector<std::uint32_t>>> resolve_ipv4(asio::any_io_executor executor,
                                                                 std::vector<std::uint32_t> resolvers,
                                                                 std::string name,
                                                                 std::chrono::milliseconds timeout);

}  // namespace cellblock::net
