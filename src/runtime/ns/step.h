#pragma once
// The result of one child-side containment step. Child-side code runs between clone3 and execve in a copy of
// a possibly multi-threaded server, so it must not allocate or take locks: a step returns this plain value,
// the child copies it into a fixed-size ChildReport on the report pipe, and the parent turns it into an Error
// with an operator hint (describe_failure).

#include <cstdint>

#include "common/error.h"

namespace cellblock::runtime::ns {

enum class ContainStep : std::uint8_t {
  kNone = 0,
  kWaitRelease,
  kBecomeRoot,
  kCgroupNamespace,
  kPrivateMounts,
  kDiskQuota,
  kOverlay,
  kOpenRoot,
  kBindMount,
  kProc,
  kDev,
  kTmp,
  kPivotRoot,
  kLoopback,
  kLink,
  kResolvConf,
  kHostname,
  kStdio,
  kSignals,
  kLandlock,
  kSeccomp,
  kExec,
};

struct StepResult {
  ContainStep step = ContainStep::kNone;
  int err = 0;
  const char* detail = nullptr;  // points into the ContainPlan (a path, a name); may be null

  explicit operator bool() const { return step == ContainStep::kNone; }
};

inline StepResult step_ok() {
  return {};
}
inline StepResult step_failed(ContainStep step, int err, const char* detail = nullptr) {
  return StepResult{step, err, detail};
}

// What the child writes to the report pipe when a step fails (smaller than PIPE_BUF, so one atomic write).
struct ChildReport {
  ContainStep step = ContainStep::kNone;
  int err = 0;
  char detail[1024] = {};
};

ChildReport make_report(const StepResult& result);
// "sandbox start failed: <what> (<errno text>): <what the operator can do>".
Error describe_failure(const ChildReport& report);

}  // namespace cellblock::runtime::ns
