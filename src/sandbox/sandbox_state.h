#pragma once
// The life of one sandbox as an explicit state machine. Every change of a sandbox's phase goes through
// next_phase(): a transition the machine does not allow is an error value (E2B's 409) naming the phase, never
// a silent no-op. SandboxManager applies the result, persisting it before anyone can observe it.
//
//   booting ─booted→ pooled ─claim→ running ─pause→ pausing ─paused→ paused ─resume→ resuming ─resumed→
//   running
//                                                   pausing ─saved_to_disk→ paused_on_disk ─resume→ resuming
//                                                   running ─snapshot→ snapshotting ─snapshotted→ running
//        running/paused/paused_on_disk/pooled/booting ─kill→ killing ─killed→ killed
//   a failed pause returns to running (pause_failed); a failed resume from memory ends in killing (the
//   sandbox is lost), a failed boot on saved files returns to paused_on_disk (resume_failed).
//   paused keeps the processes frozen in memory; paused_on_disk (a filesystem-only pause) keeps only the
//   files, and its resume boots the sandbox anew on them.

#include <string>
#include <string_view>

#include "common/error.h"
#include "store/sandbox_store.h"

namespace cellblock::sandbox {

enum class Phase {
  kBooting,
  kPooled,
  kRunning,
  kSnapshotting,
  kPausing,
  kPaused,
  kPausedOnDisk,
  kResuming,
  kKilling,
  kKilled
};

enum class Transition {
  kBooted,
  kClaim,
  kSnapshot,
  kSnapshotted,
  kPause,
  kPaused,
  kSavedToDisk,
  kPauseFailed,
  kResume,
  kResumed,
  kResumeFailed,
  kKill,
  kKilled
};

std::string_view to_string(Phase phase);
std::string_view to_string(Transition transition);

// The phase after `transition`, or kConflict with E2B's wording for `id`.
Result<Phase> next_phase(std::string_view id, Phase from, Transition transition);

// What clients see: E2B shows a pausing sandbox as paused and hides killing and killed ones (404).
std::optional<store::SandboxState> visible_state(Phase phase);
// Traffic reaches the sandbox only while it runs (during a snapshot it waits out the instant it is frozen).
inline bool reachable(Phase phase) {
  return phase == Phase::kRunning || phase == Phase::kSnapshotting;
}
inline bool paused(Phase phase) {
  return phase == Phase::kPaused || phase == Phase::kPausedOnDisk;
}

}  // namespace cellblock::sandbox
