#include "agent/envd/upload_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "agent/fs/fs_operations.h"
#include "agent/fs/xattr_metadata.h"

namespace cellblock::agent {

UploadSink::~UploadSink() {
  if (fd_ >= 0) ::close(fd_);
}

Status UploadSink::open(const std::string& destination, const UserSpec& user) {
  destination_ = destination;
  struct stat st {};
  if (::stat(destination.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, "path '" + destination + "' is a directory");
  }
  if (auto made = make_parent_dirs(destination, user); !made) return made;
  // An existing file keeps its mode, as envd's O_TRUNC open does.
  fd_ = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return tl::unexpected(system_error("open " + destination, errno));
  if (::geteuid() == 0 && ::fchown(fd_, user.uid, user.gid) != 0) {
    return tl::unexpected(system_error("chown " + destination, errno));
  }
  return {};
}

Status UploadSink::write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(system_error("write " + destination_, errno));
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    written_ += static_cast<std::uint64_t>(n);
  }
  return {};
}

Status UploadSink::finish(const std::map<std::string, std::string>& metadata) {
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return tl::unexpected(system_error("close " + destination_, errno));
  return set_metadata(destination_, metadata);
}

}  // namespace cellblock::agent
