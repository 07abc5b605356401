#pragma once
// envd's REST file transfer (e2b-api.md §4.4, §4.5): GET /files downloads raw bytes, POST /files uploads
// multipart/form-data or octet-stream (optionally gzip) bodies of any size, streamed to disk.

#include "agent/envd/access.h"
#include "agent/process/user.h"
#include "http/exchange.h"

namespace cellblock::agent {

struct FilesLimits {
  // Largest upload accepted (per request, decompressed); the disk quota of a sandbox applies below it.
  std::uint64_t max_upload_bytes = 8ULL << 30;
};

class FilesHandler {
 public:
  FilesHandler(const AccessPolicy& access, const AgentUsers& users, FilesLimits limits = {});

  http::asio::awaitable<void> download(http::Request& request, http::ResponseWriter& writer);
  http::asio::awaitable<void> upload(http::Request& request, http::BodyReader& body,
                                     http::ResponseWriter& writer);

 private:
  const AccessPolicy& access_;
  const AgentUsers& users_;
  FilesLimits limits_;
};

}  // namespace cellblock::agent
