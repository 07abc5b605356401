#include "store/migrations.h"

#include <array>
#include <string_view>

#include <fmt/format.h>

namespace cellblock::store {
namespace {

// Append only: never edit a migration that has shipped. Timestamps are unix nanoseconds.
constexpr std::array<std::string_view, 6> kMigrations = {
    R"sql(
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  prefix       TEXT NOT NULL,            -- display only: the first 8 characters after "e2b_"
  hash         TEXT NOT NULL UNIQUE,     -- hex SHA-256 of the whole key; the key itself is never stored
  created_at   INTEGER NOT NULL,
  last_used_at INTEGER,
  revoked_at   INTEGER
) STRICT;
CREATE INDEX api_keys_prefix ON api_keys(prefix);

CREATE TABLE sandboxes (
  id                TEXT PRIMARY KEY,
  template_id       TEXT NOT NULL,
  alias             TEXT,
  client_id         TEXT NOT NULL,
  metadata          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metadata) AND json_type(metadata) = 'object'),
  env_vars          TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(env_vars) AND json_type(env_vars) = 'object'),
  started_at        INTEGER NOT NULL,
  end_at            INTEGER NOT NULL,
  state             TEXT NOT NULL CHECK (state IN ('running', 'paused', 'killed')),
  envd_access_token TEXT NOT NULL,
  cpu_count         INTEGER NOT NULL,
  memory_mb         INTEGER NOT NULL,
  disk_size_mb      INTEGER NOT NULL,
  handle            TEXT,                -- runtime handle JSON, opaque to the store
  killed_at         INTEGER,
  kill_reason       TEXT
) STRICT;
-- Listing walks (started_at, id) in either direction, usually restricted to running|paused.
CREATE INDEX sandboxes_state_started ON sandboxes(state, started_at, id);
CREATE INDEX sandboxes_started ON sandboxes(started_at, id);

CREATE TABLE templates (
  id           TEXT PRIMARY KEY,
  aliases      TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(aliases) AND json_type(aliases) = 'array'),
  content_hash TEXT NOT NULL,
  rootfs       TEXT NOT NULL,            -- root filesystem directory
  built_at     INTEGER,
  size_bytes   INTEGER,
  status       TEXT NOT NULL
) STRICT;
CREATE INDEX templates_content_hash ON templates(content_hash);
)sql",
    // 2: the artifacts app's conversations and browser sessions.
    R"sql(
CREATE TABLE chats (
  id         TEXT PRIMARY KEY,           -- chosen by the browser; unique across users, visible only to user_id
  user_id    TEXT NOT NULL,
  title      TEXT NOT NULL,
  model      TEXT NOT NULL DEFAULT '',   -- "<provider>/<model>" of the latest turn
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
-- The sidebar: one user's chats, most recently updated first.
CREATE INDEX chats_user_updated ON chats(user_id, updated_at);

-- (chat_id, seq) orders a conversation; (chat_id, id) lets the server rewrite a message it is streaming.
-- The cascade relies on PRAGMA foreign_keys=ON, which Database::open sets on every connection.
CREATE TABLE chat_messages (
  chat_id    TEXT NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  id         TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
  parts      TEXT NOT NULL CHECK (json_valid(parts) AND json_type(parts) = 'array'),
  metadata   TEXT,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (chat_id, seq),
  UNIQUE (chat_id, id)
) STRICT;

CREATE TABLE web_sessions (
  hash         TEXT PRIMARY KEY,         -- hex SHA-256 of the session token; the token itself is never stored
  user_id      TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL
) STRICT;
CREATE INDEX web_sessions_expires ON web_sessions(expires_at);
)sql",
    // 3: each conversation's own kernel (a code-interpreter context in the user's sandbox).
    R"sql(
CREATE TABLE chat_kernels (
  chat_id    TEXT PRIMARY KEY REFERENCES chats(id) ON DELETE CASCADE,
  sandbox_id TEXT NOT NULL,
  context_id TEXT NOT NULL,
  used_at    INTEGER NOT NULL
) STRICT;
-- A sandbox's kernels by last use: the least recently used one is removed first.
CREATE INDEX chat_kernels_sandbox_used ON chat_kernels(sandbox_id, used_at);
)sql",
    // 4: what a sandbox does at its timeout (kill or pause), whether traffic resumes it, and the lifetime it
    // asked for (an auto-resume grants it again).
    R"sql(
ALTER TABLE sandboxes ADD COLUMN timeout_seconds INTEGER NOT NULL DEFAULT 300;
ALTER TABLE sandboxes ADD COLUMN auto_pause INTEGER NOT NULL DEFAULT 0 CHECK (auto_pause IN (0, 1));
ALTER TABLE sandboxes ADD COLUMN auto_pause_memory INTEGER NOT NULL DEFAULT 1 CHECK (auto_pause_memory IN (0, 1));
ALTER TABLE sandboxes ADD COLUMN auto_resume INTEGER NOT NULL DEFAULT 0 CHECK (auto_resume IN (0, 1));
)sql",
    // 5: saved writable layers. A sandbox runs on its template plus the layers it was started on (a
    // snapshot's, or its own from a filesystem-only pause); a snapshot is such a stack under a name.
    R"sql(
ALTER TABLE sandboxes ADD COLUMN layers TEXT NOT NULL DEFAULT '[]'
  CHECK (json_valid(layers) AND json_type(layers) = 'array');
ALTER TABLE sandboxes ADD COLUMN base_template_id TEXT;  -- the template under the layers; NULL: template_id

CREATE TABLE snapshots (
  template_id   TEXT NOT NULL,           -- the snapshot template: 20 of [a-z0-9]
  tag           TEXT NOT NULL,
  alias         TEXT,                    -- the snapshot's name; NULL: unnamed (the same on every tag)
  sandbox_id    TEXT NOT NULL,           -- the sandbox it was taken from
  base_template TEXT NOT NULL,           -- the template whose root file system lies under the layers
  layers        TEXT NOT NULL CHECK (json_valid(layers) AND json_type(layers) = 'array'),  -- uppermost first
  size_bytes    INTEGER NOT NULL,        -- the layer this snapshot added
  created_at    INTEGER NOT NULL,
  PRIMARY KEY (template_id, tag)
) STRICT;
CREATE INDEX snapshots_alias ON snapshots(alias);

-- Every saved layer directory (<state>/layers/<id>), so that disk use is known and bounded.
CREATE TABLE layers (
  id         TEXT PRIMARY KEY,
  size_bytes INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
)sql",
    // 6: a sandbox's network configuration (egress rules, ingress options) as its create or last update gave
    // it, JSON owned by net/egress_rules.h; NULL: none given (internet on, no rules).
    R"sql(
ALTER TABLE sandboxes ADD COLUMN network TEXT CHECK (network IS NULL OR json_valid(network));
)sql",
};

Result<std::int64_t> stored_version(Database& db) {
  auto current = db.query_int64("PRAGMA user_version");
  if (!current) return current;
  if (*current > static_cast<std::int64_t>(kMigrations.size())) {
    return fail(
        ErrorCode::kInternal,
        fmt::format("state database {} has schema version {}, newer than this binary's {}; run a newer "
                    "cellblock or restore a backup",
                    db.path(), *current, kMigrations.size()));
  }
  return current;
}

// Runs the next missing migration, if any; false when the schema is current. The version is read inside the
// write transaction, so a CLI and the server opening the database at once never apply a step twice.
Result<bool> apply_next(Database& db) {
  auto tx = Transaction::begin(db);
  if (!tx) return tl::unexpected(tx.error());
  auto current = stored_version(db);
  if (!current) return tl::unexpected(current.error());
  auto index = static_cast<std::size_t>(*current);
  if (index == kMigrations.size()) return false;  // the guard rolls back the empty transaction
  if (auto done = db.exec(kMigrations[index]); !done) {
    return fail(done.error().code, fmt::format("migration {}: {}", index + 1, done.error().message));
  }
  // PRAGMA takes no bound parameters; the value is our own integer.
  if (auto bumped = db.exec(fmt::format("PRAGMA user_version = {}", index + 1)); !bumped) {
    return tl::unexpected(bumped.error());
  }
  if (auto committed = tx->commit(); !committed) return tl::unexpected(committed.error());
  return true;
}

}  // namespace

int schema_version() {
  return static_cast<int>(kMigrations.size());
}

Status migrate(Database& db) {
  // Refuse a newer database before taking the write lock.
  if (auto current = stored_version(db); !current) return tl::unexpected(current.error());
  while (true) {
    auto applied = apply_next(db);
    if (!applied) return tl::unexpected(applied.error());
    if (!*applied) return {};
  }
}

Result<Database> open_state_database(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return db;
  if (auto migrated = migrate(*db); !migrated) return tl::unexpected(migrated.error());
  return db;
}

}  // namespace cellblock::store
