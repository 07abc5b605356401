#include "agent/envd/upload_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "agent/fs/fs_operations.h"
#include "agent/fs/xattr_metadata.h"
#include "common/encoding.h"

namespace cellblock::agent {
namespace {

bool running_as_root() {
  return ::geteuid() == 0;
}

}  // namespace

UploadSink::~UploadSink() {
  discard();
}

void UploadSink::discard() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (!temporary_.empty()) {
    ::unlink(temporary_.c_str());
    temporary_.clear();
  }
}

Status UploadSink::open(const std::string& destination, const UserSpec& user) {
  destination_ = destination;
  user_ = user;
  struct stat st {};
  if (::stat(destination.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, "path '" + destination + "' is a directory");
  }
  if (auto made = make_parent_dirs(destination, user); !made) return made;
  std::size_t slash = destination.rfind('/');
  temporary_ = destination.substr(0, slash + 1) + ".cellblock-upload-" + random_hex(8);
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    int err = errno;
    temporary_.clear();
    return tl::unexpected(system_error("create " + destination, err));
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

Status UploadSink::commit(const std::map<std::string, std::string>& metadata) {
  struct stat old {};
  const bool replaced = ::stat(destination_.c_str(), &old) == 0;
  // Keep the permissions of a file that is overwritten, as an in-place truncate would.
  if (replaced && ::fchmod(fd_, old.st_mode & 07777) != 0)
    return tl::unexpected(system_error("chmod", errno));
  if (running_as_root() && ::fchown(fd_, user_.uid, user_.gid) != 0) {
    return tl::unexpected(system_error("chown " + destination_, errno));
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    return tl::unexpected(system_error("close " + destination_, errno));
  }
  fd_ = -1;
  if (auto applied = set_metadata(temporary_, metadata); !applied) return applied;
  if (::rename(temporary_.c_str(), destination_.c_str()) != 0) {
    return tl::unexpected(system_error("rename to " + destination_, errno));
  }
  temporary_.clear();
  return {};
}

}  // namespace cellblock::agent
