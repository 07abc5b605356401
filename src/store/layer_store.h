#pragma once
// The saved writable layers the server keeps on disk (<state>/layers/<id>): their sizes, and which of them
// nothing uses any more. A layer is used while an alive sandbox runs on it (or is paused on it) or a snapshot
// holds it. Only src/sandbox/ writes here. Not thread-safe: use it from the thread that owns the Database.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "store/clock.h"
#include "store/sqlite.h"

namespace cellblock::store {

class LayerStore {
 public:
  explicit LayerStore(Database& db, Clock clock = unix_nanos_now);

  Status add(std::string_view id, std::int64_t size_bytes);
  Status remove(std::string_view id);
  // Bytes of every layer recorded.
  Result<std::int64_t> total_bytes();
  // Recorded layers that no alive sandbox and no snapshot lists.
  Result<std::vector<std::string>> unused();
  // Every recorded layer.
  Result<std::vector<std::string>> all();

 private:
  Result<std::vector<std::string>> ids(std::string_view sql);

  Database* db_;
  Clock clock_;
};

}  // namespace cellblock::store
