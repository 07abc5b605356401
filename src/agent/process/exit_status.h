#pragma once
// Turns a waitid() result into the End event fields the E2B SDK expects (Go's os.ProcessState wording).

#include <signal.h>

#include "agent/process/process_types.h"

namespace cellblock::agent {

// `info` as filled by waitid(…, WEXITED): si_code CLD_EXITED / CLD_KILLED / CLD_DUMPED and si_status.
EndEvent end_event_from_wait(const siginfo_t& info);

// Go's lower-case signal description ("killed", "terminated", "interrupt"), or "signal N" when unnamed.
std::string signal_description(int signo);

}  // namespace cellblock::agent
