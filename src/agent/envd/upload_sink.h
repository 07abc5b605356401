#pragma once
// Writes one uploaded file the way envd does: the destination itself is opened (created or truncated), given
// to the user and written as the bytes arrive. Directory watchers therefore see what envd's see for an upload
// (CREATE of a new file, CHMOD from the chown, WRITE as the bytes land, all on the final name) and nothing of
// any other file. As with envd, a reader may see the file while it is being written, and an upload that fails
// midway leaves the bytes that had arrived.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "agent/process/user.h"
#include "common/error.h"

namespace cellblock::agent {

class UploadSink {
 public:
  UploadSink() = default;
  UploadSink(const UploadSink&) = delete;
  UploadSink& operator=(const UploadSink&) = delete;
  ~UploadSink();  // closes the file of an unfinished upload

  // Creates missing parent directories (owned by `user`), then creates or truncates the destination and
  // chowns it to `user` (when the agent is root). `destination` is absolute; a directory there is refused.
  Status open(const std::string& destination, const UserSpec& user);
  Status write(std::string_view bytes);
  // Closes the file (no fsync: speed over durability, as envd) and replaces its metadata with `metadata`.
  Status finish(const std::map<std::string, std::string>& metadata);

  const std::string& destination() const { return destination_; }
  std::uint64_t bytes_written() const { return written_; }

 private:
  std::string destination_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
};

}  // namespace cellblock::agent
