#include "store/sqlite.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <utility>

#include <fmt/format.h>

namespace cellblock::store {
namespace {

// Long enough to ride out a CLI command (`cellblock keys create`) writing while the server holds the lock.
constexpr int kBusyTimeoutMs = 5000;
constexpr std::string_view kMemoryPath = ":memory:";

ErrorCode code_for(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return ErrorCode::kAlreadyExists;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return ErrorCode::kUnavailable;
    case SQLITE_FULL:
      return ErrorCode::kNotEnoughSpace;
    default:
      break;
  }
  // Other constraints (CHECK, NOT NULL, foreign keys) mean the caller handed in a bad value.
  if ((rc & 0xff) == SQLITE_CONSTRAINT) return ErrorCode::kInvalidArgument;
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) return ErrorCode::kUnavailable;
  return ErrorCode::kInternal;
}

tl::unexpected<Error> sqlite_failure(sqlite3* db, int rc, std::string_view what) {
  const char* message = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return fail(code_for(rc), fmt::format("sqlite: {}: {} (code {})", what, message, rc));
}

// SQLite creates the file with 0644 minus umask; create it first so it never exists world-readable.
// The -wal and -shm files inherit the main file's mode (SQLite's unix VFS copies it).
Status create_private_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return tl::unexpected(system_error(fmt::format("open database {}", path), errno));
  struct stat st {};
  Status status;
  if (::fstat(fd, &st) != 0) {
    status = tl::unexpected(system_error(fmt::format("stat database {}", path), errno));
  } else if ((st.st_mode & 0077) != 0 && ::fchmod(fd, 0600) != 0) {
    status = tl::unexpected(system_error(fmt::format("chmod 0600 database {}", path), errno));
  }
  ::close(fd);
  return status;
}

}  // namespace

// ---- Statement ----

Statement::Statement(Statement&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = std::exchange(other.db_, nullptr);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Status Statement::check_bind(int rc, int index, std::string_view what) {
  if (rc == SQLITE_OK) return {};
  return sqlite_failure(db_, rc, fmt::format("bind {} to parameter {}", what, index));
}

Status Statement::bind_int64(int index, std::int64_t value) {
  return check_bind(sqlite3_bind_int64(stmt_, index, value), index, "integer");
}

Status Statement::bind_text(int index, std::string_view value) {
  if (value.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    return fail(ErrorCode::kPayloadTooLarge, "sqlite: text value too large");
  }
  // A zero-length view may have a null data pointer, which SQLite would store as NULL.
  const char* data = value.data() != nullptr ? value.data() : "";
  return check_bind(sqlite3_bind_text(stmt_, index, data, static_cast<int>(value.size()), SQLITE_TRANSIENT),
                    index, "text");
}

Status Statement::bind_null(int index) {
  return check_bind(sqlite3_bind_null(stmt_, index), index, "null");
}

Status Statement::bind_optional_int64(int index, std::optional<std::int64_t> value) {
  return value ? bind_int64(index, *value) : bind_null(index);
}

Status Statement::bind_text_or_null(int index, std::string_view value) {
  return value.empty() ? bind_null(index) : bind_text(index, value);
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_failure(db_, rc, fmt::format("step \"{}\"", sqlite3_sql(stmt_)));
}

Status Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return {};
  }
}

Status Statement::reset() {
  int rc = sqlite3_reset(stmt_);
  if (rc != SQLITE_OK) return sqlite_failure(db_, rc, "reset statement");
  return {};
}

bool Statement::column_is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::column_int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

std::string Statement::column_text(int column) const {
  const auto* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  // Size after column_text: the text conversion can change the byte count.
  int size = sqlite3_column_bytes(stmt_, column);
  return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(size));
}

std::optional<std::int64_t> Statement::column_optional_int64(int column) const {
  if (column_is_null(column)) return std::nullopt;
  return column_int64(column);
}

// ---- Database ----

Result<Database> Database::open(const std::string& path) {
  if (path != kMemoryPath) {
    if (auto created = create_private_file(path); !created) return tl::unexpected(created.error());
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  // Own the handle at once: sqlite3_open_v2 returns one even on failure, and it must be closed.
  Database db(raw, path);
  if (rc != SQLITE_OK) return sqlite_failure(raw, rc, fmt::format("open {}", path));
  sqlite3_extended_result_codes(raw, 1);
  if (int busy = sqlite3_busy_timeout(raw, kBusyTimeoutMs); busy != SQLITE_OK) {
    return sqlite_failure(raw, busy, "set busy timeout");
  }
  if (path != kMemoryPath) {
    // journal_mode answers with the mode it ended up in; anything but "wal" (e.g. a filesystem without
    // shared memory support) would silently lose the crash-safety we rely on.
    auto mode = db.query_text("PRAGMA journal_mode=WAL");
    if (!mode) return tl::unexpected(mode.error());
    if (*mode != "wal") {
      return fail(ErrorCode::kInternal,
                  fmt::format("sqlite: {} refused WAL mode (got \"{}\"); put the state directory on a local "
                              "filesystem",
                              path, *mode));
    }
  }
  // NORMAL in WAL mode: a committed transaction survives a process crash; only power loss may drop the
  // last commits, which recovery tolerates (it re-checks every sandbox against the runtime).
  if (auto set = db.exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"); !set) {
    return tl::unexpected(set.error());
  }
  return db;
}

Database::Database(Database&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Database& Database::operator=(Database&& other) noexcept {
  if (this != &other) {
    sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

Database::~Database() {
  // close_v2 defers the close until stray statements are finalized instead of failing.
  sqlite3_close_v2(db_);
}

Status Database::exec(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return {};
  std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return fail(code_for(rc), fmt::format("sqlite: exec \"{}\": {} (code {})", sql, detail, rc));
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite_failure(db_, rc, fmt::format("prepare \"{}\"", sql));
  }
  return Statement(db_, stmt);
}

Result<std::int64_t> Database::query_int64(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row || stmt->column_is_null(0)) {
    return fail(ErrorCode::kInternal, fmt::format("sqlite: \"{}\" returned no value", sql));
  }
  return stmt->column_int64(0);
}

Result<std::string> Database::query_text(std::string_view sql) {
  auto stmt = prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row || stmt->column_is_null(0)) {
    return fail(ErrorCode::kInternal, fmt::format("sqlite: \"{}\" returned no value", sql));
  }
  return stmt->column_text(0);
}

std::int64_t Database::changes() const {
  return sqlite3_changes64(db_);
}

// ---- Transaction ----

Result<Transaction> Transaction::begin(Database& db) {
  // IMMEDIATE takes the write lock up front, so a read-then-write never fails halfway with SQLITE_BUSY.
  if (auto begun = db.exec("BEGIN IMMEDIATE"); !begun) return tl::unexpected(begun.error());
  return Transaction(&db);
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Transaction::~Transaction() {
  // A failed rollback leaves nothing better to do: SQLite rolls back the open transaction on close anyway.
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  if (db_ == nullptr) return fail(ErrorCode::kInternal, "sqlite: commit of a finished transaction");
  Database* db = std::exchange(db_, nullptr);
  if (auto committed = db->exec("COMMIT"); !committed) {
    (void)db->exec("ROLLBACK");
    return committed;
  }
  return {};
}

}  // namespace cellblock::store
