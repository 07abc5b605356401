#include "store/sandbox_store.h"

#include <utility>
#include <variant>

#include <fmt/format.h>

#include "store/json_map.h"
#include "store/list_cursor.h"

namespace cellblock::store {
namespace {

constexpr std::string_view kColumns =
    "id, template_id, alias, client_id, metadata, env_vars, started_at, end_at, state, envd_access_token, "
    "cpu_count, memory_mb, disk_size_mb, handle, killed_at, kill_reason, timeout_seconds, auto_pause, "
    "auto_pause_memory, auto_resume, layers, base_template_id, network";

using Param = std::variant<std::int64_t, std::string>;

Status bind_all(Statement& stmt, const std::vector<Param>& params) {
  for (std::size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i) + 1;
    Status bound = std::holds_alternative<std::int64_t>(params[i])
                       ? stmt.bind_int64(index, std::get<std::int64_t>(params[i]))
                       : stmt.bind_text(index, std::get<std::string>(params[i]));
    if (!bound) return bound;
  }
  return {};
}

Result<SandboxRecord> read_record(const Statement& stmt) {
  SandboxRecord record;
  record.id = stmt.column_text(0);
  record.template_id = stmt.column_text(1);
  record.alias = stmt.column_text(2);
  record.client_id = stmt.column_text(3);
  auto metadata = from_json_object(stmt.column_text(4));
  auto env_vars = from_json_object(stmt.column_text(5));
  if (!metadata || !env_vars) {
    return fail(ErrorCode::kInternal, fmt::format("sandbox {}: {}", record.id,
                                                  (!metadata ? metadata.error() : env_vars.error()).message));
  }
  record.metadata = std::move(*metadata);
  record.env_vars = std::move(*env_vars);
  record.started_at = stmt.column_int64(6);
  record.end_at = stmt.column_int64(7);
  auto state = parse_sandbox_state(stmt.column_text(8));
  // The CHECK constraint makes this impossible short of a hand-edited database.
  if (!state) return fail(ErrorCode::kInternal, fmt::format("sandbox {}: unknown state", record.id));
  record.state = *state;
  record.envd_access_token = stmt.column_text(9);
  record.cpu_count = stmt.column_int64(10);
  record.memory_mb = stmt.column_int64(11);
  record.disk_size_mb = stmt.column_int64(12);
  record.handle = stmt.column_text(13);
  record.killed_at = stmt.column_optional_int64(14);
  record.kill_reason = stmt.column_text(15);
  record.timeout_seconds = stmt.column_int64(16);
  record.lifecycle.pause_on_timeout = stmt.column_int64(17) != 0;
  record.lifecycle.keep_memory = stmt.column_int64(18) != 0;
  record.lifecycle.auto_resume = stmt.column_int64(19) != 0;
  auto layers = from_json_array(stmt.column_text(20));
  if (!layers)
    return fail(ErrorCode::kInternal, fmt::format("sandbox {}: {}", record.id, layers.error().message));
  record.layers = std::move(*layers);
  record.base_template = stmt.column_text(21);
  record.network = stmt.column_text(22);
  return record;
}

Result<std::vector<SandboxRecord>> read_all(Statement& stmt) {
  std::vector<SandboxRecord> records;
  while (true) {
    auto row = stmt.step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return records;
    auto record = read_record(stmt);
    if (!record) return tl::unexpected(record.error());
    records.push_back(std::move(*record));
  }
}

tl::unexpected<Error> not_found(std::string_view id) {
  return fail(ErrorCode::kNotFound, fmt::format("sandbox \"{}\" not found", id));
}

// The WHERE clause and parameters of a listing, without the cursor position.
void add_filters(const ListQuery& query, std::string& where, std::vector<Param>& params) {
  const std::set<SandboxState> default_states = {SandboxState::kRunning, SandboxState::kPaused};
  const auto& states = query.states.empty() ? default_states : query.states;
  where += "state IN (";
  for (auto it = states.begin(); it != states.end(); ++it) {
    where += it == states.begin() ? "?" : ", ?";
    params.emplace_back(std::string(to_string(*it)));
  }
  where += ")";
  if (query.started_after) {
    where += " AND started_at >= ?";
    params.emplace_back(*query.started_after);
  }
  if (!query.template_id.empty()) {
    where += " AND (template_id = ? OR alias = ?)";
    params.emplace_back(query.template_id);
    params.emplace_back(query.template_id);
  }
  // json_each rather than json_extract: keys may hold any character, including '.', '"' and '['.
  for (const auto& [key, value] : query.metadata) {
    where +=
        " AND EXISTS (SELECT 1 FROM json_each(sandboxes.metadata) AS m WHERE m.key = ? AND m.type = 'text'"
        " AND m.value = ?)";
    params.emplace_back(key);
    params.emplace_back(value);
  }
}

}  // namespace

std::string_view to_string(SandboxState state) {
  switch (state) {
    case SandboxState::kRunning:
      return "running";
    case SandboxState::kPaused:
      return "paused";
    case SandboxState::kKilled:
      return "killed";
  }
  return "killed";
}

std::optional<SandboxState> parse_sandbox_state(std::string_view text) {
  if (text == "running") return SandboxState::kRunning;
  if (text == "paused") return SandboxState::kPaused;
  if (text == "killed") return SandboxState::kKilled;
  return std::nullopt;
}

SandboxStore::SandboxStore(Database& db, Clock clock) : db_(&db), clock_(std::move(clock)) {}

Status SandboxStore::insert(const SandboxRecord& record) {
  auto stmt =
      db_->prepare(fmt::format("INSERT INTO sandboxes ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                               "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)",
                               kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {
           stmt->bind_text(1, record.id),
           stmt->bind_text(2, record.template_id),
           stmt->bind_text_or_null(3, record.alias),
           stmt->bind_text(4, record.client_id),
           stmt->bind_text(5, to_json_object(record.metadata)),
           stmt->bind_text(6, to_json_object(record.env_vars)),
           stmt->bind_int64(7, record.started_at),
           stmt->bind_int64(8, record.end_at),
           stmt->bind_text(9, to_string(record.state)),
           stmt->bind_text(10, record.envd_access_token),
           stmt->bind_int64(11, record.cpu_count),
           stmt->bind_int64(12, record.memory_mb),
           stmt->bind_int64(13, record.disk_size_mb),
           stmt->bind_text_or_null(14, record.handle),
           stmt->bind_optional_int64(15, record.killed_at),
           stmt->bind_text_or_null(16, record.kill_reason),
           stmt->bind_int64(17, record.timeout_seconds),
           stmt->bind_int64(18, record.lifecycle.pause_on_timeout ? 1 : 0),
           stmt->bind_int64(19, record.lifecycle.keep_memory ? 1 : 0),
           stmt->bind_int64(20, record.lifecycle.auto_resume ? 1 : 0),
           stmt->bind_text(21, to_json_array(record.layers)),
           stmt->bind_text_or_null(22, record.base_template),
           stmt->bind_text_or_null(23, record.network),
       }) {
    if (!bound) return bound;
  }
  if (auto ran = stmt->run(); !ran) {
    if (ran.error().code == ErrorCode::kAlreadyExists) {
      return fail(ErrorCode::kAlreadyExists, fmt::format("sandbox \"{}\" already exists", record.id));
    }
    return ran;
  }
  return {};
}

Result<SandboxRecord> SandboxStore::get(std::string_view id) {
  auto stmt = db_->prepare(fmt::format("SELECT {} FROM sandboxes WHERE id = ?1", kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, id); !bound) return tl::unexpected(bound.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return not_found(id);
  return read_record(*stmt);
}

Status SandboxStore::run_alive_update(Statement& update, std::string_view id) {
  if (auto ran = update.run(); !ran) return ran;
  if (db_->changes() > 0) return {};
  auto record = get(id);
  if (!record) return tl::unexpected(record.error());
  return fail(ErrorCode::kConflict, fmt::format("sandbox \"{}\" has been killed", id));
}

Status SandboxStore::update_end_at(std::string_view id, std::int64_t end_at) {
  auto stmt = db_->prepare("UPDATE sandboxes SET end_at = ?1 WHERE id = ?2 AND state != 'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_int64(1, end_at), stmt->bind_text(2, id)}) {
    if (!bound) return bound;
  }
  return run_alive_update(*stmt, id);
}

Status SandboxStore::update_handle(std::string_view id, std::string_view handle_json) {
  auto stmt = db_->prepare("UPDATE sandboxes SET handle = ?1 WHERE id = ?2 AND state != 'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text_or_null(1, handle_json), stmt->bind_text(2, id)}) {
    if (!bound) return bound;
  }
  return run_alive_update(*stmt, id);
}

Status SandboxStore::update_network(std::string_view id, std::string_view network_json) {
  auto stmt = db_->prepare("UPDATE sandboxes SET network = ?1 WHERE id = ?2 AND state != 'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text_or_null(1, network_json), stmt->bind_text(2, id)}) {
    if (!bound) return bound;
  }
  return run_alive_update(*stmt, id);
}

Status SandboxStore::update_state(std::string_view id, SandboxState state) {
  if (state == SandboxState::kKilled) {
    return fail(ErrorCode::kInvalidArgument, "update_state cannot kill a sandbox; use mark_killed");
  }
  auto stmt = db_->prepare("UPDATE sandboxes SET state = ?1 WHERE id = ?2 AND state != 'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, to_string(state)), stmt->bind_text(2, id)}) {
    if (!bound) return bound;
  }
  return run_alive_update(*stmt, id);
}

Status SandboxStore::record_transition(std::string_view id, SandboxState state, std::int64_t started_at,
                                       std::int64_t end_at) {
  if (state == SandboxState::kKilled) {
    return fail(ErrorCode::kInvalidArgument, "record_transition cannot kill a sandbox; use mark_killed");
  }
  auto stmt = db_->prepare(
      "UPDATE sandboxes SET state = ?1, started_at = ?2, end_at = ?3 WHERE id = ?4 AND state != 'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, to_string(state)), stmt->bind_int64(2, started_at),
                     stmt->bind_int64(3, end_at), stmt->bind_text(4, id)}) {
    if (!bound) return bound;
  }
  return run_alive_update(*stmt, id);
}

Status SandboxStore::record_disk_pause(std::string_view id, const std::vector<std::string>& layers,
                                       std::int64_t end_at) {
  auto stmt = db_->prepare(
      "UPDATE sandboxes SET state = 'paused', handle = NULL, layers = ?1, end_at = ?2 WHERE id = ?3 AND "
      "state "
      "!= 'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound :
       {stmt->bind_text(1, to_json_array(layers)), stmt->bind_int64(2, end_at), stmt->bind_text(3, id)}) {
    if (!bound) return bound;
  }
  return run_alive_update(*stmt, id);
}

Status SandboxStore::record_reboot(std::string_view id, std::string_view handle_json, std::int64_t started_at,
                                   std::int64_t end_at) {
  auto stmt = db_->prepare(
      "UPDATE sandboxes SET state = 'running', handle = ?1, started_at = ?2, end_at = ?3 WHERE id = ?4 AND "
      "state != 'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, handle_json), stmt->bind_int64(2, started_at),
                     stmt->bind_int64(3, end_at), stmt->bind_text(4, id)}) {
    if (!bound) return bound;
  }
  return run_alive_update(*stmt, id);
}

Status SandboxStore::mark_killed(std::string_view id, std::string_view reason) {
  auto stmt = db_->prepare(
      "UPDATE sandboxes SET state = 'killed', killed_at = ?1, kill_reason = ?2 WHERE id = ?3 AND state != "
      "'killed'");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_int64(1, clock_()), stmt->bind_text(2, reason), stmt->bind_text(3, id)}) {
    if (!bound) return bound;
  }
  if (auto ran = stmt->run(); !ran) return ran;
  if (db_->changes() > 0) return {};
  // Nothing changed: either unknown (an error) or already killed (fine).
  auto record = get(id);
  if (!record) return tl::unexpected(record.error());
  return {};
}

Result<std::vector<SandboxRecord>> SandboxStore::list_alive() {
  auto stmt = db_->prepare(fmt::format(
      "SELECT {} FROM sandboxes WHERE state IN ('running', 'paused') ORDER BY started_at, id", kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  return read_all(*stmt);
}

Result<SandboxPage> SandboxStore::list(const ListQuery& query) {
  if (query.limit < 1 || query.limit > kMaxListLimit) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("limit must be between 1 and {}", kMaxListLimit));
  }
  const bool ascending = query.order == SortOrder::kAscending;
  std::string where;
  std::vector<Param> params;
  add_filters(query, where, params);
  if (!query.cursor.empty()) {
    auto cursor = decode_list_cursor(query.cursor);
    if (!cursor) return tl::unexpected(cursor.error());
    if (cursor->ascending != ascending) {
      return fail(ErrorCode::kInvalidArgument, "nextToken was issued for the other sort order");
    }
    // Row values compare lexicographically: exactly "after the last row of the previous page".
    where += ascending ? " AND (started_at, id) > (?, ?)" : " AND (started_at, id) < (?, ?)";
    params.emplace_back(cursor->started_at);
    params.emplace_back(std::move(cursor->id));
  }
  // One row more than asked tells whether another page exists.
  params.emplace_back(static_cast<std::int64_t>(query.limit) + 1);
  const std::string_view direction = ascending ? "ASC" : "DESC";
  auto stmt =
      db_->prepare(fmt::format("SELECT {} FROM sandboxes WHERE {} ORDER BY started_at {}, id {} LIMIT ?",
                               kColumns, where, direction, direction));
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = bind_all(*stmt, params); !bound) return tl::unexpected(bound.error());
  auto records = read_all(*stmt);
  if (!records) return tl::unexpected(records.error());

  SandboxPage page;
  page.records = std::move(*records);
  if (page.records.size() > static_cast<std::size_t>(query.limit)) {
    page.records.resize(static_cast<std::size_t>(query.limit));
    const SandboxRecord& last = page.records.back();
    page.next_cursor = encode_list_cursor({last.started_at, last.id, ascending});
  }
  return page;
}

}  // namespace cellblock::store
