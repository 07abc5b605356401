#pragma once
// One error vocabulary for the whole project. Every module returns `Result<T>` at its edges; the HTTP layer
// maps an `ErrorCode` to an HTTP status, to E2B's `{code, message}` JSON and to a Connect error code in
// exactly one place (error.cpp).

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace cellblock {

enum class ErrorCode {
  kInvalidArgument,     // malformed input: 400
  kUnauthenticated,     // missing or wrong credentials: 401
  kPermissionDenied,    // 403
  kNotFound,            // 404
  kMethodNotAllowed,    // 405
  kAlreadyExists,       // 409
  kConflict,            // state conflict (e.g. already paused): 409
  kPayloadTooLarge,     // 413
  kUnsupportedMedia,    // wrong Content-Type: 415
  kResourceExhausted,   // rate or capacity: 429
  kCanceled,            // the client went away: 499
  kInternal,            // a bug or an unexpected system failure: 500
  kUnimplemented,       // 501
  kSandboxUnavailable,  // the sandbox is gone (killed, paused, unknown): 502
  kUnavailable,         // temporarily unable to serve: 503
  kDeadlineExceeded,    // 504
  kNotEnoughSpace,      // ENOSPC: 507
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// An error from a failed system call: `what` names the operation and its object, errno decides the code.
Error system_error(std::string_view what, int errno_value);

int http_status(ErrorCode code);
// The Connect protocol's code string (e.g. "not_found").
std::string_view connect_code(ErrorCode code);
// Parses a Connect code string; unknown strings give kInternal.
ErrorCode from_connect_code(std::string_view code);

}  // namespace cellblock
