#pragma once
// A thin RAII layer over the SQLite C API: no exceptions, every failure is an `Error` that carries SQLite's
// own message. Threading: a Database and its Statements belong to one thread (the store's contract); SQLite's
// locking is still on (serialized mode), so a stray cross-thread use is slow, not corrupting.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace cellblock::store {

// A prepared statement. It borrows its Database's connection: it must not outlive the Database.
// Bind indexes are 1-based, column indexes 0-based (as in SQLite).
class Statement {
 public:
  Statement() = default;
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Status bind_int64(int index, std::int64_t value);
  Status bind_text(int index, std::string_view value);
  Status bind_null(int index);
  // Null when the optional is empty.
  Status bind_optional_int64(int index, std::optional<std::int64_t> value);
  // Null when `value` is empty: for optional text columns such as an alias.
  Status bind_text_or_null(int index, std::string_view value);

  // Runs one step: true when a row is available, false when the statement is done.
  Result<bool> step();
  // Steps until done (statements that return no rows).
  Status run();
  // Makes the statement runnable again; bindings are kept.
  Status reset();

  bool column_is_null(int column) const;
  std::int64_t column_int64(int column) const;
  // NULL reads as "".
  std::string column_text(int column) const;
  std::optional<std::int64_t> column_optional_int64(int column) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Status check_bind(int rc, int index, std::string_view what);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

class Database {
 public:
  // Opens (creating it if needed) the database file with mode 0600 (it holds access tokens and env vars),
  // then sets journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON and a busy timeout. ":memory:" opens a
  // private in-memory database (no WAL). The parent directory must exist.
  static Result<Database> open(const std::string& path);

  Database(Database&& other) noexcept;
  Database& operator=(Database&& other) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Runs one or more SQL statements that return no rows of interest.
  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // Runs a single-value query (e.g. "PRAGMA user_version"); NULL or no row reads as an error.
  Result<std::int64_t> query_int64(std::string_view sql);
  Result<std::string> query_text(std::string_view sql);
  // Rows changed by the last INSERT/UPDATE/DELETE.
  std::int64_t changes() const;

  const std::string& path() const { return path_; }

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

// BEGIN IMMEDIATE ... COMMIT; rolls back on destruction unless committed.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_ = nullptr;  // null once committed, rolled back or moved from
};

}  // namespace cellblock::store
