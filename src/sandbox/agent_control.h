#pragma once
// The server's side of a sandbox's agent before any user traffic: waiting for it to be ready and handing it
// its access token and environment (POST /init over the sandbox's Unix socket). Blocking calls: run them on a
// pool.

#include <chrono>
#include <functional>
#include <map>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "common/error.h"

namespace cellblock::sandbox {

// Waits until `ready_file` exists (the agent creates it once its default kernel is warm), failing early when
// `still_alive` turns false.
Status wait_for_agent(const std::string& ready_file, std::chrono::milliseconds timeout,
                      const std::function<bool()>& still_alive);

// POST /init {"envVars": env, "accessToken": token} to envd through the socket (http::fetch); expects 204.
// Runs on the caller's executor (no thread hop: claims from the warm pool must not queue behind boots on the
// thread pool).
boost::asio::awaitable<Status> init_agent(std::string socket_path, std::map<std::string, std::string> env,
                                          std::string access_token);

}  // namespace cellblock::sandbox
