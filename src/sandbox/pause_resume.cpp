// Pause and resume (E2B's lifecycle API, spec e2b-lifecycle.md). A pause with memory freezes every process of
// the sandbox in its cgroup: nothing runs, the memory stays, kernels keep their variables and servers their
// sockets; the sandbox is unreachable (502) until it is resumed, which thaws it in milliseconds. A paused
// sandbox has no timeout, and keeps its capacity slot (its RAM is still in use).
//
// A filesystem-only pause (keepMemory: false) copies the frozen sandbox's writable layer to disk and ends its
// processes: memory and slot are freed. Its resume boots the sandbox anew (new kernels) on those files, with
// the same id, token and environment.
#include <spdlog/spdlog.h>

#include "common/blocking_call.h"
#include "common/encoding.h"
#include "common/file_signature.h"
#include "runtime/handle_json.h"
#include "sandbox/claimed.h"

namespace cellblock::sandbox {
namespace {

constexpr std::chrono::seconds kAutoResumeFloor{300};

Error pause_failed(std::string_view id, const Error& cause) {
  ErrorCode code = caller_can_act(cause) ? cause.code : ErrorCode::kInternal;
  return Error{code, "Error pausing sandbox '" + std::string(id) + "': " + cause.message};
}

}  // namespace

asio::awaitable<Status> SandboxManager::pause(const std::string& id, bool keep_memory) {
  auto sandbox = find(id);
  if (!sandbox) co_return tl::unexpected(sandbox.error());
  auto guard = co_await (*sandbox)->lock.lock();
  if ((*sandbox)->phase == Phase::kKilled) co_return tl::unexpected(sandbox_not_found(id));
  co_return co_await pause_locked(*sandbox, keep_memory);
}

asio::awaitable<Status> SandboxManager::pause_locked(std::shared_ptr<Claimed> sandbox, bool keep_memory) {
  if (auto ok = next_phase(sandbox->id, sandbox->phase, Transition::kPause); !ok)
    co_return tl::unexpected(ok.error());
  (void)transition(*sandbox, Transition::kPause);
  sandbox->timer.cancel();
  // Traffic stops first: open streams are cut as on a kill, and new ones get the 502 until the resume.
  sandbox->abort->abort();
  sandbox->abort = std::make_shared<AbortHandle>();
  auto back_to_running = [&](const Error& cause) -> asio::awaitable<Status> {
    (void)transition(*sandbox, Transition::kPauseFailed);
    arm_timer(sandbox);
    co_await push_deadline(*sandbox);
    co_return tl::unexpected(pause_failed(sandbox->id, cause));
  };
  // A frozen agent cannot keep time: its own deadline is lifted first, or it would end the sandbox on thaw.
  if (Status lifted = co_await agents_.set_deadline(sandbox->route().endpoint(), std::nullopt); !lifted) {
    co_return co_await back_to_running(lifted.error());
  }
  // g++ 12: a lambda (like a braced list) must not be a temporary inside a co_await expression.
  auto freeze = [this, handle = sandbox->handle]() { return runtime_.freeze(handle); };
  auto thaw = [this, handle = sandbox->handle]() { return runtime_.thaw(handle); };
  if (Status frozen = co_await on_pool(blocking_, freeze); !frozen) {
    co_return co_await back_to_running(frozen.error());
  }
  const std::int64_t now = unix_nanos_now();
  if (!keep_memory) {
    if (Status saved = co_await save_to_disk(*sandbox, now); !saved) {
      (void)co_await on_pool(blocking_, thaw);
      co_return co_await back_to_running(saved.error());
    }
    spdlog::info("sandbox {} paused on disk", sandbox->id);
    co_return Status{};
  }
  if (Status saved =
          store_.record_transition(sandbox->id, store::SandboxState::kPaused, sandbox->started_at, now);
      !saved) {
    (void)co_await on_pool(blocking_, thaw);
    co_return co_await back_to_running(saved.error());
  }
  sandbox->end_at = now;
  (void)transition(*sandbox, Transition::kPaused);
  spdlog::info("sandbox {} paused", sandbox->id);
  co_return Status{};
}

asio::awaitable<Status> SandboxManager::save_to_disk(Claimed& sandbox, std::int64_t paused_at) {
  auto saved = co_await layers_.save(sandbox.handle, sandbox.layers);
  if (!saved) co_return tl::unexpected(saved.error());
  std::vector<std::string> stack = std::move(saved->layers);
  if (Status recorded = store_.record_disk_pause(sandbox.id, stack, paused_at); !recorded) {
    co_await layers_.collect();
    co_return recorded;
  }
  (void)transition(sandbox, Transition::kSavedToDisk);
  sandbox.layers = std::move(stack);
  sandbox.end_at = paused_at;
  runtime::SandboxHandle process = std::exchange(sandbox.handle, runtime::SandboxHandle{});
  sandbox.slot.reset();  // its memory is free
  co_await booter_.destroy(std::move(process));
  co_await layers_.collect();  // the layers a merge replaced, unless a snapshot holds them
  co_return Status{};
}

asio::awaitable<Status> SandboxManager::reboot_locked(std::shared_ptr<Claimed> sandbox,
                                                      std::chrono::seconds ttl) {
  if (!sandbox->base) co_return fail(ErrorCode::kInternal, "the sandbox's template is gone from this server");
  auto record = store_.get(sandbox->id);
  if (!record) co_return tl::unexpected(record.error());
  auto slot = reserve_for(sandbox->base);
  if (!slot) co_return tl::unexpected(capacity_reached(capacity_.limit()));
  if (auto ok = transition(*sandbox, Transition::kResume); !ok) co_return ok;
  const std::int64_t paused_at = sandbox->end_at;
  auto back_on_disk = [&](const Error& cause) -> Status {
    (void)transition(*sandbox, Transition::kResumeFailed);
    sandbox->end_at = paused_at;
    spdlog::error("sandbox {}: booting it on its saved files failed: {}", sandbox->id, cause.message);
    return fail(cause.code == ErrorCode::kUnavailable ? cause.code : ErrorCode::kInternal,
                "resuming the sandbox failed (it stays paused): " + cause.message);
  };
  BootTarget target;
  target.id = sandbox->id;
  target.layers = layers_.paths(sandbox->layers);
  auto booted = co_await boot_admitted(*sandbox->base, std::move(target));
  if (!booted) co_return back_on_disk(booted.error());
  const std::int64_t now = unix_nanos_now();
  const std::int64_t end_at = now + std::chrono::duration_cast<std::chrono::nanoseconds>(ttl).count();
  sandbox->end_at = end_at;  // the agent's deadline below counts from it
  ClaimRequest request{record->env_vars, sandbox->access_token,
                       sandbox->agent_deadline_ms(settings_.deadline_grace)};
  Status claimed = co_await agents_.claim(booted->socket_path, std::move(request));
  if (claimed) claimed = connect_network(*booted, record->network);
  if (claimed) claimed = store_.record_reboot(sandbox->id, runtime::to_json(*booted), now, end_at);
  if (!claimed) {
    co_await booter_.destroy(*booted);
    co_return back_on_disk(claimed.error());
  }
  sandbox->handle = std::move(*booted);
  sandbox->slot = std::move(slot);
  sandbox->abort = std::make_shared<AbortHandle>();
  sandbox->started_at = now;
  (void)transition(*sandbox, Transition::kResumed);
  arm_timer(sandbox);
  spdlog::info("sandbox {} resumed on its saved files", sandbox->id);
  co_return Status{};
}

// Thaws a paused sandbox and starts a new run of `ttl`; one paused on disk boots anew. A sandbox that cannot
// be thawed is lost: it is killed.
asio::awaitable<Status> SandboxManager::resume_locked(std::shared_ptr<Claimed> sandbox,
                                                      std::chrono::seconds ttl) {
  if (sandbox->phase == Phase::kPausedOnDisk) co_return co_await reboot_locked(sandbox, ttl);
  if (auto ok = transition(*sandbox, Transition::kResume); !ok) co_return ok;
  auto thaw = [this, handle = sandbox->handle]() { return runtime_.thaw(handle); };
  if (Status thawed = co_await on_pool(blocking_, thaw); !thawed) {
    spdlog::error("sandbox {}: resuming failed ({}); killing it", sandbox->id, thawed.error().message);
    std::string reason = "resume failed";
    (void)co_await kill_locked(sandbox, std::move(reason));
    co_return fail(ErrorCode::kInternal, "resuming the sandbox failed: " + thawed.error().message);
  }
  const std::int64_t now = unix_nanos_now();
  sandbox->started_at = now;
  sandbox->end_at = now + std::chrono::duration_cast<std::chrono::nanoseconds>(ttl).count();
  if (Status saved =
          store_.record_transition(sandbox->id, store::SandboxState::kRunning, now, sandbox->end_at);
      !saved) {
    spdlog::error("sandbox {}: recording its resume failed ({})", sandbox->id, saved.error().message);
  }
  (void)transition(*sandbox, Transition::kResumed);
  co_await push_deadline(*sandbox);
  arm_timer(sandbox);
  spdlog::info("sandbox {} resumed", sandbox->id);
  co_return Status{};
}

asio::awaitable<Result<ConnectOutcome>> SandboxManager::connect(const std::string& id,
                                                                std::optional<std::int64_t> timeout_seconds,
                                                                bool keep_memory) {
  auto sandbox = find(id);
  if (!sandbox) co_return tl::unexpected(sandbox.error());
  auto ttl = lifetime(timeout_seconds);
  if (!ttl) co_return tl::unexpected(ttl.error());
  auto guard = co_await (*sandbox)->lock.lock();
  ConnectOutcome outcome;
  switch ((*sandbox)->phase) {
    case Phase::kRunning:
      if (Status extended = co_await extend_locked(**sandbox, *ttl, /*only_extend=*/true); !extended) {
        co_return tl::unexpected(extended.error());
      }
      break;
    case Phase::kPaused:
    case Phase::kPausedOnDisk:
      // memory:false never gets a silent memory restore: the frozen sandbox's files are saved and it boots
      // anew on them, as after a filesystem-only pause.
      if (!keep_memory && (*sandbox)->phase == Phase::kPaused) {
        if (Status saved = co_await save_to_disk(**sandbox, (*sandbox)->end_at); !saved) {
          co_return tl::unexpected(saved.error());
        }
      }
      if (Status resumed = co_await resume_locked(*sandbox, *ttl); !resumed)
        co_return tl::unexpected(resumed.error());
      outcome.resumed = true;
      break;
    case Phase::kKilled:
      co_return tl::unexpected(sandbox_not_found(id));
    default:
      if (auto refused = next_phase(id, (*sandbox)->phase, Transition::kResume); !refused) {
        co_return tl::unexpected(refused.error());
      }
  }
  auto record = get(id);
  if (!record) co_return tl::unexpected(record.error());
  outcome.record = std::move(*record);
  co_return outcome;
}

asio::awaitable<Result<store::SandboxRecord>> SandboxManager::resume(
    const std::string& id, std::optional<std::int64_t> timeout_seconds) {
  auto sandbox = find(id);
  if (!sandbox) co_return tl::unexpected(sandbox.error());
  auto ttl = lifetime(timeout_seconds);
  if (!ttl) co_return tl::unexpected(ttl.error());
  auto guard = co_await (*sandbox)->lock.lock();
  if ((*sandbox)->phase == Phase::kKilled || (*sandbox)->phase == Phase::kKilling) {
    co_return tl::unexpected(sandbox_not_found(id));
  }
  if (Status resumed = co_await resume_locked(*sandbox, *ttl); !resumed)
    co_return tl::unexpected(resumed.error());
  co_return get(id);
}

asio::awaitable<Result<Route>> SandboxManager::wake(const std::string& id,
                                                    std::optional<std::string_view> access_token) {
  auto unavailable = [&]() -> Result<Route> {
    return fail(ErrorCode::kSandboxUnavailable, "The sandbox was not found");
  };
  auto sandbox = find(id);
  if (!sandbox || (*sandbox)->phase == Phase::kKilling || (*sandbox)->phase == Phase::kKilled)
    co_return unavailable();
  if ((*sandbox)->phase != Phase::kRunning && !(*sandbox)->lifecycle.auto_resume) co_return unavailable();
  // E2B's answer while a pause is under way; traffic during a resume waits for it and goes through.
  if ((*sandbox)->phase == Phase::kPausing) {
    co_return fail(ErrorCode::kConflict, "The sandbox is still transitioning. Try again in a moment.");
  }
  auto guard = co_await (*sandbox)->lock.lock();
  switch ((*sandbox)->phase) {
    case Phase::kRunning:
      co_return (*sandbox)->route();
    case Phase::kPaused:
      break;
    default:
      co_return unavailable();
  }
  if (access_token && !secure_equals(*access_token, (*sandbox)->access_token)) {
    co_return fail(
        ErrorCode::kPermissionDenied,
        "This sandbox can't be resumed with the credentials provided. Check your access token and try "
        "again.");
  }
  // E2B grants an auto-resumed sandbox its create timeout, at least five minutes, within the maximum.
  const auto ttl = std::min(settings_.max_timeout,
                            std::max(std::chrono::seconds((*sandbox)->timeout_seconds), kAutoResumeFloor));
  if (Status resumed = co_await resume_locked(*sandbox, ttl); !resumed)
    co_return tl::unexpected(resumed.error());
  co_return (*sandbox)->route();
}

}  // namespace cellblock::sandbox
