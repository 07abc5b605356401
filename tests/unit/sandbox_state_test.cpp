// The sandbox state machine: every allowed transition, and E2B's wording for the refused ones.

#include <gtest/gtest.h>

#include "sandbox/sandbox_state.h"

namespace cellblock::sandbox {
namespace {

TEST(SandboxState, TheLifeOfASandbox) {
  Phase phase = Phase::kBooting;
  for (auto [transition, next] :
       {std::pair{Transition::kBooted, Phase::kPooled}, std::pair{Transition::kClaim, Phase::kRunning},
        std::pair{Transition::kPause, Phase::kPausing}, std::pair{Transition::kPaused, Phase::kPaused},
        std::pair{Transition::kResume, Phase::kResuming}, std::pair{Transition::kResumed, Phase::kRunning},
        std::pair{Transition::kPause, Phase::kPausing}, std::pair{Transition::kPauseFailed, Phase::kRunning},
        std::pair{Transition::kKill, Phase::kKilling}, std::pair{Transition::kKilled, Phase::kKilled}}) {
    auto moved = next_phase("s1", phase, transition);
    ASSERT_TRUE(moved) << to_string(phase) << " --" << to_string(transition)
                       << "-> : " << moved.error().message;
    EXPECT_EQ(*moved, next);
    phase = *moved;
  }
}

TEST(SandboxState, RefusalsUseE2BsWords) {
  auto refused = [](Phase from, Transition transition) {
    auto moved = next_phase("isbx1", from, transition);
    EXPECT_FALSE(moved);
    EXPECT_EQ(moved ? ErrorCode::kInternal : moved.error().code, ErrorCode::kConflict);
    return moved ? std::string() : moved.error().message;
  };
  EXPECT_EQ(refused(Phase::kPaused, Transition::kPause),
            "Error pausing sandbox - sandbox 'isbx1' is already paused");
  EXPECT_EQ(refused(Phase::kKilling, Transition::kPause),
            "Sandbox 'isbx1' cannot be paused while in 'killing' state");
  EXPECT_EQ(refused(Phase::kRunning, Transition::kResume), "Sandbox isbx1 is already running");
  EXPECT_EQ(refused(Phase::kKilling, Transition::kResume), "Sandbox \"isbx1\" is being killed");
  EXPECT_EQ(refused(Phase::kKilling, Transition::kKill), "Sandbox \"isbx1\" is being killed");
  refused(Phase::kKilled, Transition::kKill);
  refused(Phase::kRunning, Transition::kClaim);
  refused(Phase::kPooled, Transition::kPause);
  refused(Phase::kRunning, Transition::kPaused);
  refused(Phase::kPaused, Transition::kResumed);
}

TEST(SandboxState, WhatClientsSee) {
  EXPECT_EQ(visible_state(Phase::kRunning), store::SandboxState::kRunning);
  EXPECT_EQ(visible_state(Phase::kPausing), store::SandboxState::kPaused);
  EXPECT_EQ(visible_state(Phase::kPaused), store::SandboxState::kPaused);
  EXPECT_FALSE(visible_state(Phase::kKilling));
  EXPECT_FALSE(visible_state(Phase::kKilled));
  EXPECT_TRUE(reachable(Phase::kRunning));
  EXPECT_FALSE(reachable(Phase::kPaused));
  EXPECT_FALSE(reachable(Phase::kPausing));
}

}  // namespace
}  // namespace cellblock::sandbox
