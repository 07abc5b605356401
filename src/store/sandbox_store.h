#pragma once
// One row per sandbox, kept after the kill (state "killed") so that recovery and audits can see it. Only
// src/sandbox/ writes here. Not thread-safe: use it from the thread that owns the Database.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "store/clock.h"
#include "store/sqlite.h"

namespace cellblock::store {

enum class SandboxState { kRunning, kPaused, kKilled };

// "running", "paused", "killed": the strings of the E2B API and of the database.
std::string_view to_string(SandboxState state);
std::optional<SandboxState> parse_sandbox_state(std::string_view text);

// What happens at the timeout and on traffic to a paused sandbox (E2B's `lifecycle`).
struct LifecyclePolicy {
  bool pause_on_timeout = false;  // autoPause: pause instead of kill
  bool keep_memory = true;        // autoPauseMemory: the timeout's pause keeps memory
  bool auto_resume = false;       // autoResume.enabled: traffic to the paused sandbox resumes it
  bool operator==(const LifecyclePolicy&) const = default;
};

struct SandboxRecord {
  std::string id;
  std::string template_id;
  std::string alias;  // template alias the sandbox was created from; empty: none
  std::string client_id;
  std::map<std::string, std::string> metadata;
  std::map<std::string, std::string> env_vars;
  std::int64_t started_at = 0;  // unix ns
  std::int64_t end_at = 0;      // unix ns: when the sandbox times out
  SandboxState state = SandboxState::kRunning;
  std::string envd_access_token;
  std::int64_t cpu_count = 0;
  std::int64_t memory_mb = 0;
  std::int64_t disk_size_mb = 0;
  std::int64_t timeout_seconds = 300;  // the lifetime asked at create (auto-resume grants it again)
  LifecyclePolicy lifecycle;
  std::string handle;  // runtime handle JSON, opaque to the store; empty: none (yet, or paused on disk)
  // Saved writable layers the sandbox runs on above its template (ids, uppermost first): a snapshot's, or its
  // own from a filesystem-only pause.
  std::vector<std::string> layers;
  std::string base_template;              // the template under the layers; empty: template_id
  std::string network;  // network configuration JSON (net/egress_rules.h), opaque to the store; empty: none
  std::optional<std::int64_t> killed_at;  // unix ns
  std::string kill_reason;                // empty unless killed

  // The template whose root file system the sandbox runs on.
  const std::string& base_template_id() const { return base_template.empty() ? template_id : base_template; }
};

enum class SortOrder { kDescending, kAscending };

struct ListQuery {
  std::map<std::string, std::string> metadata;  // every pair must match exactly; empty: no filter
  std::set<SandboxState> states = {SandboxState::kRunning, SandboxState::kPaused};  // empty: the same default
  std::optional<std::int64_t> started_after;                                        // unix ns, inclusive
  std::string template_id;  // empty: any; else matches the record's template_id or alias exactly
  SortOrder order = SortOrder::kDescending;  // by started_at, ties by id in the same direction
  int limit = 100;                           // 1..100
  std::string cursor;                        // a previous next_cursor; empty: first page
};

struct SandboxPage {
  std::vector<SandboxRecord> records;
  std::string next_cursor;  // empty when no further rows exist
};

class SandboxStore {
 public:
  static constexpr int kMaxListLimit = 100;

  // `db` must be migrated and outlive the store. `clock` stamps killed_at.
  explicit SandboxStore(Database& db, Clock clock = unix_nanos_now);

  // kAlreadyExists for a duplicate id; kInvalidArgument for a record the schema rejects.
  Status insert(const SandboxRecord& record);
  // Killed sandboxes are returned too (the caller decides what "gone" means); kNotFound for unknown ids.
  Result<SandboxRecord> get(std::string_view id);
  // Updates of an alive sandbox: kNotFound for unknown ids, kConflict once the sandbox is killed.
  Status update_end_at(std::string_view id, std::int64_t end_at);
  Status update_handle(std::string_view id, std::string_view handle_json);
  Status update_network(std::string_view id, std::string_view network_json);
  // Running <-> paused; use mark_killed for the end.
  Status update_state(std::string_view id, SandboxState state);
  // A pause or a resume in one write: the new state with the run's start and end (E2B: a paused sandbox's
  // endAt is when it paused; a resumed one starts anew).
  Status record_transition(std::string_view id, SandboxState state, std::int64_t started_at,
                           std::int64_t end_at);
  // A filesystem-only pause: paused, no process (no handle), running on `layers` when it resumes.
  Status record_disk_pause(std::string_view id, const std::vector<std::string>& layers, std::int64_t end_at);
  // A resume that booted a new process (after a filesystem-only pause): running again under `handle`.
  Status record_reboot(std::string_view id, std::string_view handle_json, std::int64_t started_at,
                       std::int64_t end_at);
  // Sets state killed, killed_at = now and the reason. Idempotent: an already killed sandbox keeps its
  // first killed_at and reason. kNotFound for unknown ids.
  Status mark_killed(std::string_view id, std::string_view reason);
  // Running and paused sandboxes, oldest first: what recovery re-attaches to after a restart.
  Result<std::vector<SandboxRecord>> list_alive();
  // One page of a listing; kInvalidArgument for a bad limit or cursor, or a cursor of the other order.
  Result<SandboxPage> list(const ListQuery& query);

 private:
  // Runs a bound "UPDATE ... WHERE id = ? AND state != 'killed'" and turns "no row changed" into kNotFound
  // or kConflict.
  Status run_alive_update(Statement& update, std::string_view id);

  Database* db_;
  Clock clock_;
};

}  // namespace cellblock::store
