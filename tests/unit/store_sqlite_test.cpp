// The SQLite wrapper and the schema against real database files in a temp directory.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "store/migrations.h"
#include "store/sandbox_store.h"
#include "store/sqlite.h"

namespace cellblock::store {
namespace {

namespace fs = std::filesystem;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "store-sqlite-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "state.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static unsigned mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  static SandboxRecord record(std::string id, std::int64_t started_at) {
    SandboxRecord r;
    r.id = std::move(id);
    r.template_id = "base";
    r.client_id = "cellblock";
    r.started_at = started_at;
    r.end_at = started_at + 300'000'000'000;
    r.envd_access_token = "token-" + r.id;
    r.cpu_count = 2;
    r.memory_mb = 512;
    r.disk_size_mb = 1024;
    r.metadata = {{"owner", r.id}};
    return r;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteTest, OpenCreatesAPrivateFileInWalMode) {
  mode_t old_umask = ::umask(0);  // a permissive umask must not widen the mode
  auto db = Database::open(path_);
  ::umask(old_umask);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(mode_of(path_), 0600u);
  EXPECT_EQ(db->query_text("PRAGMA journal_mode").value(), "wal");
  EXPECT_EQ(db->query_int64("PRAGMA synchronous").value(), 1);  // NORMAL
  EXPECT_EQ(db->query_int64("PRAGMA foreign_keys").value(), 1);
  EXPECT_EQ(db->query_int64("PRAGMA busy_timeout").value(), 5000);

  // The WAL and shared-memory files appear with the first write and inherit the private mode.
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER) STRICT; INSERT INTO t VALUES (1);"));
  EXPECT_EQ(mode_of(path_ + "-wal"), 0600u);
  EXPECT_EQ(mode_of(path_ + "-shm"), 0600u);
}

TEST_F(SqliteTest, OpenTightensAnExistingWorldReadableFile) {
  {
    auto db = Database::open(path_);
    ASSERT_TRUE(db);
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto db = Database::open(path_);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(mode_of(path_), 0600u);
}

TEST_F(SqliteTest, OpenFailsInAMissingDirectory) {
  auto db = Database::open((dir_ / "missing" / "state.db").string());
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("missing"), std::string::npos) << db.error().message;
}

TEST_F(SqliteTest, ErrorsCarrySqlitesMessage) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  auto stmt = db->prepare("SELECT * FROM no_such_table");
  ASSERT_FALSE(stmt);
  EXPECT_EQ(stmt.error().code, ErrorCode::kInternal);
  EXPECT_NE(stmt.error().message.find("no such table: no_such_table"), std::string::npos)
      << stmt.error().message;

  auto bad = db->exec("CREATE TABLE t (x INTEGER) STRICT; SELEKT 1");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos) << bad.error().message;
}

TEST_F(SqliteTest, ConstraintViolationsMapToErrorCodes) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL CHECK (n > 0)) STRICT"));
  ASSERT_TRUE(db->exec("INSERT INTO t VALUES ('a', 1)"));
  auto duplicate = db->exec("INSERT INTO t VALUES ('a', 2)");
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().code, ErrorCode::kAlreadyExists);
  auto check = db->exec("INSERT INTO t VALUES ('b', 0)");
  ASSERT_FALSE(check);
  EXPECT_EQ(check.error().code, ErrorCode::kInvalidArgument);
  // STRICT: a text value in an INTEGER column is refused rather than stored.
  auto strict = db->exec("INSERT INTO t VALUES ('c', 'many')");
  ASSERT_FALSE(strict);
  EXPECT_NE(strict.error().message.find("cannot store TEXT value in INTEGER column"), std::string::npos)
      << strict.error().message;
}

TEST_F(SqliteTest, StatementBindsAndReadsTypedValues) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (a INTEGER, b TEXT, c INTEGER) STRICT"));
  auto insert = db->prepare("INSERT INTO t VALUES (?1, ?2, ?3)");
  ASSERT_TRUE(insert);
  const std::string with_nul("x\0y", 3);
  ASSERT_TRUE(insert->bind_int64(1, -9'000'000'000'000'000'000));
  ASSERT_TRUE(insert->bind_text(2, with_nul));
  ASSERT_TRUE(insert->bind_optional_int64(3, std::nullopt));
  ASSERT_TRUE(insert->run());
  EXPECT_EQ(db->changes(), 1);
  ASSERT_TRUE(insert->reset());
  ASSERT_TRUE(insert->bind_int64(1, 7));
  ASSERT_TRUE(insert->bind_text_or_null(2, ""));
  ASSERT_TRUE(insert->bind_optional_int64(3, 42));
  ASSERT_TRUE(insert->run());

  auto select = db->prepare("SELECT a, b, c FROM t ORDER BY a");
  ASSERT_TRUE(select);
  ASSERT_TRUE(select->step().value());
  EXPECT_EQ(select->column_int64(0), -9'000'000'000'000'000'000);
  EXPECT_EQ(select->column_text(1), with_nul);
  EXPECT_EQ(select->column_optional_int64(2), std::nullopt);
  ASSERT_TRUE(select->step().value());
  EXPECT_EQ(select->column_int64(0), 7);
  EXPECT_TRUE(select->column_is_null(1));
  EXPECT_EQ(select->column_optional_int64(2), 42);
  EXPECT_FALSE(select->step().value());
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  auto db = Database::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER) STRICT"));
  {
    auto tx = Transaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)"));
  }
  EXPECT_EQ(db->query_int64("SELECT count(*) FROM t").value(), 0);
  {
    auto tx = Transaction::begin(*db);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)"));
    ASSERT_TRUE(tx->commit());
    EXPECT_FALSE(tx->commit());  // a second commit is a bug, reported, not a crash
  }
  EXPECT_EQ(db->query_int64("SELECT sum(x) FROM t").value(), 2);
}

TEST_F(SqliteTest, MigratesFromEmptyAndReopensIdempotently) {
  {
    auto db = open_state_database(path_);
    ASSERT_TRUE(db) << db.error().message;
    EXPECT_EQ(db->query_int64("PRAGMA user_version").value(), schema_version());
    EXPECT_GE(schema_version(), 1);
    for (const char* table : {"api_keys", "sandboxes", "templates"}) {
      auto stmt = db->prepare("SELECT strict FROM pragma_table_list WHERE name = ?1");
      ASSERT_TRUE(stmt);
      ASSERT_TRUE(stmt->bind_text(1, table));
      ASSERT_TRUE(stmt->step().value()) << table;
      EXPECT_EQ(stmt->column_int64(0), 1) << table << " is not STRICT";
    }
    SandboxStore sandboxes(*db);
    ASSERT_TRUE(sandboxes.insert(record("aaaaaaaaaaaaaaaaaaaa", 100)));
  }
  for (int i = 0; i < 2; ++i) {
    auto db = open_state_database(path_);
    ASSERT_TRUE(db) << db.error().message;
    EXPECT_EQ(db->query_int64("PRAGMA user_version").value(), schema_version());
    EXPECT_TRUE(migrate(*db));
    EXPECT_EQ(db->query_int64("SELECT count(*) FROM sandboxes").value(), 1);
  }
}

TEST_F(SqliteTest, RefusesADatabaseFromANewerBinary) {
  {
    auto db = open_state_database(path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("PRAGMA user_version = " + std::to_string(schema_version() + 1)));
  }
  auto db = open_state_database(path_);
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message.find("newer"), std::string::npos) << db.error().message;
}

TEST_F(SqliteTest, SchemaRejectsAnUnknownState) {
  auto db = open_state_database(path_);
  ASSERT_TRUE(db);
  auto bad = db->exec(
      "INSERT INTO sandboxes (id, template_id, client_id, started_at, end_at, state, envd_access_token, "
      "cpu_count, "
      "memory_mb, disk_size_mb) VALUES ('x', 't', 'c', 1, 2, 'zombie', 'tok', 1, 1, 1)");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(SqliteTest, CloseWithoutCheckpointKeepsEverything) {
  {
    auto db = open_state_database(path_);
    ASSERT_TRUE(db);
    SandboxStore sandboxes(*db);
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(sandboxes.insert(record("sbx" + std::string(17, static_cast<char>('a' + i)), 100 + i)));
    }
  }
  auto db = open_state_database(path_);
  ASSERT_TRUE(db);
  SandboxStore sandboxes(*db);
  auto alive = sandboxes.list_alive();
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->size(), 5u);
}

// A real crash: the writer process dies without closing the database (no checkpoint, the WAL stays behind).
// Every committed row must be there when the next process opens it.
TEST_F(SqliteTest, CommittedRowsSurviveAProcessCrash) {
  {
    auto db = open_state_database(path_);  // schema in place before the child starts
    ASSERT_TRUE(db);
  }
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = open_state_database(path_);
    if (!db) ::_exit(2);
    SandboxStore sandboxes(*db);
    for (int i = 0; i < 20; ++i) {
      std::string id = "crash" + std::string(13, 'a') + std::to_string(10 + i);
      if (!sandboxes.insert(record(id, 1000 + i))) ::_exit(3);
    }
    if (!sandboxes.mark_killed("crash" + std::string(13, 'a') + "10", "test")) ::_exit(4);
    ::_exit(0);  // no destructors: the connection is never closed
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(fs::exists(path_ + "-wal"));
  EXPECT_GT(fs::file_size(path_ + "-wal"), 0u) << "the rows should still be in the WAL only";

  auto db = open_state_database(path_);
  ASSERT_TRUE(db);
  SandboxStore sandboxes(*db);
  auto alive = sandboxes.list_alive();
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->size(), 19u);
  auto killed = sandboxes.get("crash" + std::string(13, 'a') + "10");
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->state, SandboxState::kKilled);
  EXPECT_EQ(killed->kill_reason, "test");
}

}  // namespace
}  // namespace cellblock::store
