#include "store/layer_store.h"

namespace cellblock::store {

LayerStore::LayerStore(Database& db, Clock clock) : db_(&db), clock_(std::move(clock)) {}

Status LayerStore::add(std::string_view id, std::int64_t size_bytes) {
  auto stmt = db_->prepare("INSERT INTO layers (id, size_bytes, created_at) VALUES (?1, ?2, ?3)");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound :
       {stmt->bind_text(1, id), stmt->bind_int64(2, size_bytes), stmt->bind_int64(3, clock_())}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Status LayerStore::remove(std::string_view id) {
  auto stmt = db_->prepare("DELETE FROM layers WHERE id = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, id); !bound) return bound;
  return stmt->run();
}

Result<std::int64_t> LayerStore::total_bytes() {
  return db_->query_int64("SELECT COALESCE(SUM(size_bytes), 0) FROM layers");
}

Result<std::vector<std::string>> LayerStore::ids(std::string_view sql) {
  auto stmt = db_->prepare(sql);
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<std::string> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.push_back(stmt->column_text(0));
  }
}

Result<std::vector<std::string>> LayerStore::unused() {
  return ids(
      "SELECT id FROM layers WHERE id NOT IN ("
      "  SELECT l.value FROM sandboxes AS s, json_each(s.layers) AS l WHERE s.state != 'killed'"
      "  UNION SELECT l.value FROM snapshots AS n, json_each(n.layers) AS l) ORDER BY id");
}

Result<std::vector<std::string>> LayerStore::all() {
  return ids("SELECT id FROM layers ORDER BY id");
}

}  // namespace cellblock::store
