#pragma once
// Persistent snapshots (E2B: a template whose builds are snapshots of a sandbox). One row per (template,
// tag): a named snapshot taken again under the same name and tag replaces that tag's build; every tag of a
// template carries the same name. What a snapshot holds is a stack of saved layers over a base template. Only
// src/sandbox/ writes here. Not thread-safe: use it from the thread that owns the Database.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "store/sqlite.h"

namespace cellblock::store {

struct SnapshotRecord {
  std::string template_id;  // 20 of [a-z0-9]
  std::string tag = "default";
  std::string alias;  // the snapshot's name (no namespace); empty: unnamed
  std::string sandbox_id;
  std::string base_template;        // the template whose root file system lies under the layers
  std::vector<std::string> layers;  // layer ids, uppermost first
  std::int64_t size_bytes = 0;      // the layer this snapshot added
  std::int64_t created_at = 0;      // unix ns
};

struct SnapshotQuery {
  std::string sandbox_id;          // empty: any
  std::string name;                // an alias or a template id; empty: any
  std::optional<std::string> tag;  // only builds carrying this tag
  int limit = 100;                 // 1..100
  std::string cursor;              // a previous next_cursor; empty: first page
};

struct SnapshotPage {
  std::vector<SnapshotRecord> records;  // one per template (its newest matching build), newest template first
  std::string next_cursor;              // empty when no further templates exist
};

class SnapshotStore {
 public:
  static constexpr int kMaxListLimit = 100;

  explicit SnapshotStore(Database& db);

  // Adds a build, replacing the build of the same template and tag.
  Status put(const SnapshotRecord& record);
  // The template that carries `alias`, if any.
  Result<std::optional<std::string>> template_of_alias(std::string_view alias);
  // The build of `name` (an alias or a template id) under `tag`; kNotFound when there is none.
  Result<SnapshotRecord> get(std::string_view name, std::string_view tag);
  Result<SnapshotPage> list(const SnapshotQuery& query);
  // Removes every build of a template; false when it had none.
  Result<bool> remove_template(std::string_view template_id);

 private:
  Database* db_;
};

}  // namespace cellblock::store
