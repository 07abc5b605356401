#include "sandbox/sandbox_state.h"

namespace cellblock::sandbox {
namespace {

std::string quoted(std::string_view id) {
  return "'" + std::string(id) + "'";
}

}  // namespace

std::string_view to_string(Phase phase) {
  switch (phase) {
    case Phase::kBooting:
      return "booting";
    case Phase::kPooled:
      return "pooled";
    case Phase::kRunning:
      return "running";
    case Phase::kPausing:
      return "pausing";
    case Phase::kPaused:
      return "paused";
    case Phase::kPausedOnDisk:
      return "paused on disk";
    case Phase::kSnapshotting:
      return "snapshotting";
    case Phase::kResuming:
      return "resuming";
    case Phase::kKilling:
      return "killing";
    case Phase::kKilled:
      return "killed";
  }
  return "unknown";
}

std::string_view to_string(Transition transition) {
  switch (transition) {
    case Transition::kBooted:
      return "booted";
    case Transition::kClaim:
      return "claim";
    case Transition::kPause:
      return "pause";
    case Transition::kPaused:
      return "paused";
    case Transition::kSavedToDisk:
      return "saved to disk";
    case Transition::kSnapshot:
      return "snapshot";
    case Transition::kSnapshotted:
      return "snapshotted";
    case Transition::kPauseFailed:
      return "pause failed";
    case Transition::kResume:
      return "resume";
    case Transition::kResumed:
      return "resumed";
    case Transition::kResumeFailed:
      return "resume failed";
    case Transition::kKill:
      return "kill";
    case Transition::kKilled:
      return "killed";
  }
  return "unknown";
}

Result<Phase> next_phase(std::string_view id, Phase from, Transition transition) {
  auto refuse = [&](std::string message) -> Result<Phase> {
    return fail(ErrorCode::kConflict, std::move(message));
  };
  switch (transition) {
    case Transition::kBooted:
      if (from == Phase::kBooting) return Phase::kPooled;
      break;
    case Transition::kClaim:
      if (from == Phase::kPooled) return Phase::kRunning;
      break;
    case Transition::kSnapshot:
      if (from == Phase::kRunning) return Phase::kSnapshotting;
      return refuse("Sandbox " + quoted(id) + " cannot be snapshotted while in " + quoted(to_string(from)) +
                    " state");
    case Transition::kSnapshotted:
      if (from == Phase::kSnapshotting) return Phase::kRunning;
      break;
    case Transition::kPause:
      if (from == Phase::kRunning) return Phase::kPausing;
      if (paused(from) || from == Phase::kPausing) {
        return refuse("Error pausing sandbox - sandbox " + quoted(id) + " is already paused");
      }
      return refuse("Sandbox " + quoted(id) + " cannot be paused while in " + quoted(to_string(from)) +
                    " state");
    case Transition::kPaused:
      if (from == Phase::kPausing) return Phase::kPaused;
      break;
    case Transition::kSavedToDisk:
      if (from == Phase::kPausing || from == Phase::kPaused) return Phase::kPausedOnDisk;
      break;
    case Transition::kPauseFailed:
      if (from == Phase::kPausing) return Phase::kRunning;
      break;
    case Transition::kResume:
      if (paused(from)) return Phase::kResuming;
      if (from == Phase::kRunning) return refuse("Sandbox " + std::string(id) + " is already running");
      if (from == Phase::kKilling) return refuse("Sandbox \"" + std::string(id) + "\" is being killed");
      return refuse("Sandbox " + quoted(id) + " cannot be resumed while in " + quoted(to_string(from)) +
                    " state");
    case Transition::kResumed:
      if (from == Phase::kResuming) return Phase::kRunning;
      break;
    case Transition::kResumeFailed:
      if (from == Phase::kResuming) return Phase::kPausedOnDisk;
      break;
    case Transition::kKill:
      if (from == Phase::kBooting || from == Phase::kPooled || from == Phase::kRunning || paused(from) ||
          from == Phase::kResuming) {
        return Phase::kKilling;
      }
      if (from == Phase::kKilling) return refuse("Sandbox \"" + std::string(id) + "\" is being killed");
      return refuse("Sandbox " + quoted(id) + " cannot be killed while in " + quoted(to_string(from)) +
                    " state");
    case Transition::kKilled:
      if (from == Phase::kKilling) return Phase::kKilled;
      break;
  }
  return refuse("Sandbox " + quoted(id) + " cannot go from " + quoted(to_string(from)) + " through " +
                quoted(to_string(transition)));
}

std::optional<store::SandboxState> visible_state(Phase phase) {
  switch (phase) {
    case Phase::kRunning:
    case Phase::kSnapshotting:
    case Phase::kResuming:
      return store::SandboxState::kRunning;
    case Phase::kPausing:
    case Phase::kPaused:
    case Phase::kPausedOnDisk:
      return store::SandboxState::kPaused;
    default:
      return std::nullopt;
  }
}

}  // namespace cellblock::sandbox
