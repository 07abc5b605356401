#pragma once
// Writes one uploaded file safely: the bytes go to a temporary file beside the destination, which replaces
// the destination only when the upload completed. A failed or aborted upload leaves the old file untouched.

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
  ~UploadSink();  // removes the temporary file of an unfinished upload

  // Creates missing parent directories (owned by `user`) and the temporary file. `destination` is absolute.
  Status open(const std::string& destination, const UserSpec& user);
  Status write(std::string_view bytes);
  // fsyncs nothing (speed over durability, as envd), renames over the destination, chowns, applies metadata.
  Status commit(const std::map<std::string, std::string>& metadata);

  const std::string& destination() const { return destination_; }
  std::uint64_t bytes_written() const { return written_; }

 private:
  void discard();

  std::string destination_;
  std::string temporary_;
  int fd_ = -1;
  std::uint64_t written_ = 0;
  UserSpec user_;
};

}  // namespace cellblock::agent
