#pragma once
// Reaping of orphans re-parented to the agent when it runs as PID 1 (or as a child subreaper).

#include <sys/types.h>

#include <cstddef>
#include <functional>

namespace cellblock::agent {

// Reaps every zombie child of this process for which `keep` returns false, and returns how many it reaped.
// Children the agent supervises itself (waited through their pidfd) must be kept: their exit status belongs
// to them. Call it on SIGCHLD. It finds zombies by scanning /proc, because waitpid(-1) would steal the
// statuses of kept children.
std::size_t reap_orphans(const std::function<bool(pid_t)>& keep);

}  // namespace cellblock::agent
