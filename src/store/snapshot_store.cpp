#include "store/snapshot_store.h"

#include <limits>

#include <fmt/format.h>

#include "store/json_map.h"
#include "store/list_cursor.h"

namespace cellblock::store {
namespace {

constexpr std::string_view kColumns =
    "template_id, tag, alias, sandbox_id, base_template, layers, size_bytes, created_at";

Result<SnapshotRecord> read_record(const Statement& stmt) {
  SnapshotRecord record;
  record.template_id = stmt.column_text(0);
  record.tag = stmt.column_text(1);
  record.alias = stmt.column_text(2);
  record.sandbox_id = stmt.column_text(3);
  record.base_template = stmt.column_text(4);
  auto layers = from_json_array(stmt.column_text(5));
  if (!layers) {
    return fail(ErrorCode::kInternal,
                fmt::format("snapshot {}: {}", record.template_id, layers.error().message));
  }
  record.layers = std::move(*layers);
  record.size_bytes = stmt.column_int64(6);
  record.created_at = stmt.column_int64(7);
  return record;
}

}  // namespace

SnapshotStore::SnapshotStore(Database& db) : db_(&db) {}

Status SnapshotStore::put(const SnapshotRecord& record) {
  auto stmt = db_->prepare(
      fmt::format("INSERT OR REPLACE INTO snapshots ({}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound :
       {stmt->bind_text(1, record.template_id), stmt->bind_text(2, record.tag),
        stmt->bind_text_or_null(3, record.alias), stmt->bind_text(4, record.sandbox_id),
        stmt->bind_text(5, record.base_template), stmt->bind_text(6, to_json_array(record.layers)),
        stmt->bind_int64(7, record.size_bytes), stmt->bind_int64(8, record.created_at)}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Result<std::optional<std::string>> SnapshotStore::template_of_alias(std::string_view alias) {
  auto stmt = db_->prepare("SELECT template_id FROM snapshots WHERE alias = ?1 LIMIT 1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, alias); !bound) return tl::unexpected(bound.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->column_text(0));
}

Result<SnapshotRecord> SnapshotStore::get(std::string_view name, std::string_view tag) {
  auto stmt = db_->prepare(fmt::format(
      "SELECT {} FROM snapshots WHERE (template_id = ?1 OR alias = ?1) AND tag = ?2 LIMIT 1", kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, name), stmt->bind_text(2, tag)}) {
    if (!bound) return tl::unexpected(bound.error());
  }
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, fmt::format("snapshot '{}:{}' not found", name, tag));
  return read_record(*stmt);
}

Result<SnapshotPage> SnapshotStore::list(const SnapshotQuery& query) {
  if (query.limit < 1 || query.limit > kMaxListLimit) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("limit must be between 1 and {}", kMaxListLimit));
  }
  ListCursor after{std::numeric_limits<std::int64_t>::max(), "", false};
  bool has_cursor = !query.cursor.empty();
  if (has_cursor) {
    auto decoded = decode_list_cursor(query.cursor);
    if (!decoded || decoded->ascending) return fail(ErrorCode::kInvalidArgument, "invalid next token");
    after = std::move(*decoded);
  }
  // Each template once: its newest matching build, ordered by when the template was first created.
  auto stmt = db_->prepare(fmt::format(
      "WITH matching AS ("
      "  SELECT {0}, ROW_NUMBER() OVER (PARTITION BY template_id ORDER BY created_at DESC, tag) AS newest,"
      "    (SELECT MIN(created_at) FROM snapshots AS t WHERE t.template_id = s.template_id) AS born"
      "  FROM snapshots AS s"
      "  WHERE (?1 = '' OR sandbox_id = ?1) AND (?2 = '' OR template_id = ?2 OR alias = ?2)"
      "    AND (?3 = 0 OR tag = ?4))"
      "SELECT {0}, born FROM matching WHERE newest = 1 AND (?5 = 0 OR born < ?6 OR (born = ?6 AND "
      "template_id < "
      "?7)) ORDER BY born DESC, template_id DESC LIMIT ?8",
      kColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, query.sandbox_id), stmt->bind_text(2, query.name),
                     stmt->bind_int64(3, query.tag ? 1 : 0), stmt->bind_text(4, query.tag.value_or("")),
                     stmt->bind_int64(5, has_cursor ? 1 : 0), stmt->bind_int64(6, after.started_at),
                     stmt->bind_text(7, after.id), stmt->bind_int64(8, query.limit + 1)}) {
    if (!bound) return tl::unexpected(bound.error());
  }
  SnapshotPage page;
  std::int64_t last_born = 0;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    if (static_cast<int>(page.records.size()) == query.limit) {
      page.next_cursor = encode_list_cursor({last_born, page.records.back().template_id, false});
      break;
    }
    auto record = read_record(*stmt);
    if (!record) return tl::unexpected(record.error());
    last_born = stmt->column_int64(8);
    page.records.push_back(std::move(*record));
  }
  return page;
}

Result<bool> SnapshotStore::remove_template(std::string_view template_id) {
  auto stmt = db_->prepare("DELETE FROM snapshots WHERE template_id = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, template_id); !bound) return tl::unexpected(bound.error());
  if (auto ran = stmt->run(); !ran) return tl::unexpected(ran.error());
  return db_->changes() > 0;
}

}  // namespace cellblock::store
