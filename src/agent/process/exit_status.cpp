#include "agent/process/exit_status.h"

#include <fmt/format.h>

namespace cellblock::agent {

std::string signal_description(int signo) {
  // The strings of Go's syscall signal table (zerrors_linux), which end up in envd's "signal: …" status.
  switch (signo) {
    case SIGHUP:
      return "hangup";
    case SIGINT:
      return "interrupt";
    case SIGQUIT:
      return "quit";
    case SIGILL:
      return "illegal instruction";
    case SIGTRAP:
      return "trace/breakpoint trap";
    case SIGABRT:
      return "aborted";
    case SIGBUS:
      return "bus error";
    case SIGFPE:
      return "floating point exception";
    case SIGKILL:
      return "killed";
    case SIGUSR1:
      return "user defined signal 1";
    case SIGSEGV:
      return "segmentation fault";
    case SIGUSR2:
      return "user defined signal 2";
    case SIGPIPE:
      return "broken pipe";
    case SIGALRM:
      return "alarm clock";
    case SIGTERM:
      return "terminated";
    case SIGXCPU:
      return "CPU time limit exceeded";
    case SIGXFSZ:
      return "file size limit exceeded";
    case SIGSYS:
      return "bad system call";
    default:
      return fmt::format("signal {}", signo);
  }
}

EndEvent end_event_from_wait(const siginfo_t& info) {
  EndEvent end;
  if (info.si_code == CLD_EXITED) {
    end.exited = true;
    end.exit_code = info.si_status;
    end.status = fmt::format("exit status {}", info.si_status);
  } else {
    end.exited = false;
    end.exit_code = -1;
    end.status = "signal: " + signal_description(info.si_status);
    if (info.si_code == CLD_DUMPED) end.status += " (core dumped)";
  }
  if (!end.exited || end.exit_code != 0) end.error = end.status;
  return end;
}

}  // namespace cellblock::agent
