#include "common/error.h"

#include <cerrno>
#include <cstring>

namespace cellblock {

Error system_error(std::string_view what, int errno_value) {
  ErrorCode code = ErrorCode::kInternal;
  switch (errno_value) {
    case ENOENT:
      code = ErrorCode::kNotFound;
      break;
    case EEXIST:
      code = ErrorCode::kAlreadyExists;
      break;
    case EACCES:
    case EPERM:
    case EROFS:
      code = ErrorCode::kPermissionDenied;
      break;
    case ENOTDIR:
    case EISDIR:
    case EINVAL:
    case ENAMETOOLONG:
    case ELOOP:
    case ENOTEMPTY:
    case EXDEV:
      code = ErrorCode::kInvalidArgument;
      break;
    case ENOSPC:
    case EDQUOT:
      code = ErrorCode::kNotEnoughSpace;
      break;
    case EMFILE:
    case ENFILE:
    case ENOMEM:
    case EAGAIN:
      code = ErrorCode::kResourceExhausted;
      break;
    default:
      break;
  }
  std::string message(what);
  message += ": ";
  message += std::strerror(errno_value);
  return Error{code, std::move(message)};
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kUnauthenticated:
      return 401;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kMethodNotAllowed:
      return 405;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return 409;
    case ErrorCode::kPayloadTooLarge:
      return 413;
    case ErrorCode::kUnsupportedMedia:
      return 415;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kCanceled:
      return 499;
    case ErrorCode::kInternal:
      return 500;
    case ErrorCode::kUnimplemented:
      return 501;
    case ErrorCode::kSandboxUnavailable:
      return 502;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
    case ErrorCode::kNotEnoughSpace:
      return 507;
  }
  return 500;
}

std::string_view connect_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnsupportedMedia:
      return "invalid_argument";
    case ErrorCode::kUnauthenticated:
      return "unauthenticated";
    case ErrorCode::kPermissionDenied:
      return "permission_denied";
    case ErrorCode::kNotFound:
      return "not_found";
    case ErrorCode::kAlreadyExists:
      return "already_exists";
    case ErrorCode::kConflict:
      return "aborted";
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kResourceExhausted:
    case ErrorCode::kNotEnoughSpace:
      return "resource_exhausted";
    case ErrorCode::kCanceled:
      return "canceled";
    case ErrorCode::kMethodNotAllowed:
    case ErrorCode::kUnimplemented:
      return "unimplemented";
    case ErrorCode::kSandboxUnavailable:
    case ErrorCode::kUnavailable:
      return "unavailable";
    case ErrorCode::kDeadlineExceeded:
      return "deadline_exceeded";
    case ErrorCode::kInternal:
      return "internal";
  }
  return "internal";
}

ErrorCode from_connect_code(std::string_view code) {
  struct Entry {
    std::string_view name;
    ErrorCode code;
  };
  static constexpr Entry kTable[] = {
      {"invalid_argument", ErrorCode::kInvalidArgument},     {"unauthenticated", ErrorCode::kUnauthenticated},
      {"permission_denied", ErrorCode::kPermissionDenied},   {"not_found", ErrorCode::kNotFound},
      {"already_exists", ErrorCode::kAlreadyExists},         {"aborted", ErrorCode::kConflict},
      {"resource_exhausted", ErrorCode::kResourceExhausted}, {"canceled", ErrorCode::kCanceled},
      {"unimplemented", ErrorCode::kUnimplemented},          {"unavailable", ErrorCode::kUnavailable},
      {"deadline_exceeded", ErrorCode::kDeadlineExceeded},
  };
  for (const auto& entry : kTable) {
    if (entry.name == code) return entry.code;
  }
  return ErrorCode::kInternal;
}

}  // namespace cellblock
