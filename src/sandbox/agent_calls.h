#pragma once
// The app's calls to a sandbox's agent, typed: run a cell (its output as a stream of event lines), list a
// directory, download a file, and where an upload is forwarded to. With agent_client.h these are the server's
// only callers of the agent; every non-2xx answer becomes an error through agent_error().

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "common/abort_handle.h"
#include "common/error.h"
#include "http/client.h"
#include "http/proxy.h"
#include "sandbox/agent_client.h"

namespace cellblock::sandbox {

struct ExecuteCall {
  std::string code;
  std::string language = "python";  // used when context_id is empty: the language's default kernel
  std::string context_id;
};

// The interpreter's answer to one cell: NDJSON event lines (stdout, stderr, result, error, …), as they come.
class ExecuteStream {
 public:
  static constexpr std::size_t kLineLimit = 64 << 20;

  explicit ExecuteStream(std::unique_ptr<http::ClientResponse> response) : response_(std::move(response)) {}
  // The next complete line; nullopt when the stream ended or broke (the caller tells which from what it
  // got). kPayloadTooLarge for a line beyond kLineLimit.
  boost::asio::awaitable<Result<std::optional<std::string>>> next_line();

 private:
  std::unique_ptr<http::ClientResponse> response_;
  std::string pending_;
  std::array<char, 16 * 1024> buffer_{};
};

// POST /execute. An unknown context is kNotFound. `cut` ends the stream (closing it interrupts the kernel).
boost::asio::awaitable<Result<ExecuteStream>> execute(AgentEndpoint endpoint, ExecuteCall call,
                                                      std::shared_ptr<AbortHandle> cut);

struct DirEntry {
  std::string name;
  std::string path;
  bool directory = false;
  std::int64_t size = 0;
  std::string modified_time;  // RFC 3339, as envd gives it
};

// envd's ListDir of `path`, one level deep, acting as `user`.
boost::asio::awaitable<Result<std::vector<DirEntry>>> list_dir(AgentEndpoint endpoint, std::string path,
                                                               std::string user);

// envd's GET /files of `path` as `user`: the answer, its body not read yet (200 only). `cut` ends it.
boost::asio::awaitable<Result<std::unique_ptr<http::ClientResponse>>> download(
    AgentEndpoint endpoint, std::string path, std::string user, std::shared_ptr<AbortHandle> cut);

// Where a client's upload of `path` (as `user`) is forwarded, body streaming: envd's POST /files on the
// sandbox's socket, with the agent's headers; the client's own credentials are stripped.
struct UploadTarget {
  std::string target;
  http::Upstream upstream;
  http::ForwardOptions options;
};
UploadTarget upload_target(const AgentEndpoint& endpoint, std::string_view path, std::string_view user,
                           std::shared_ptr<AbortHandle> cut);

}  // namespace cellblock::sandbox
