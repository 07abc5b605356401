#pragma once
// Which kernel holds a conversation's state: the code-interpreter context `context_id` in sandbox
// `sandbox_id`. Kept in SQLite so a conversation finds its variables again after the server restarts; a row
// goes with its chat (ON DELETE CASCADE). Not thread-safe: use it from the thread that owns the Database.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "store/clock.h"
#include "store/sqlite.h"

namespace cellblock::store {

struct ChatKernel {
  std::string chat_id;
  std::string sandbox_id;
  std::string context_id;
  std::int64_t used_at = 0;  // unix ns
};

class KernelStore {
 public:
  // `db` must be migrated and outlive the store. `clock` stamps used_at.
  explicit KernelStore(Database& db, Clock clock = unix_nanos_now);

  Result<std::optional<ChatKernel>> find(std::string_view chat_id);
  // Records the chat's kernel (replacing an earlier one), used now. kNotFound when the chat does not exist.
  Status put(std::string_view chat_id, std::string_view sandbox_id, std::string_view context_id);
  // Stamps the chat's kernel as used now; nothing happens when it has none.
  Status touch(std::string_view chat_id);
  Status forget(std::string_view chat_id);
  // The sandbox's kernels, most recently used first.
  Result<std::vector<ChatKernel>> in_sandbox(std::string_view sandbox_id);

 private:
  Database* db_;
  Clock clock_;
};

}  // namespace cellblock::store
