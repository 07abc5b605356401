#pragma once
// API keys for the control plane (`X-API-KEY`). A key is "e2b_" + 40 lowercase hex characters; only its
// SHA-256 is stored, so the plaintext exists once, in create()'s answer. Not thread-safe: use it from the
// thread that owns the Database.

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

struct KeyInfo {
  std::string id;
  std::string name;
  std::string prefix;           // the first 8 characters after "e2b_", for display
  std::int64_t created_at = 0;  // unix ns
  std::optional<std::int64_t> last_used_at;
  std::optional<std::int64_t> revoked_at;
};

struct CreatedKey {
  std::string id;
  std::string key;  // the plaintext: show it once, it cannot be recovered
};

class ApiKeyStore {
 public:
  // `db` must be migrated and outlive the store.
  explicit ApiKeyStore(Database& db, Clock clock = unix_nanos_now);

  Result<CreatedKey> create(std::string_view name);
  // The key's record when it is known and not revoked; kUnauthenticated otherwise (including malformed keys,
  // rejected before any lookup). Stamps last_used_at, at most once a minute to spare the disk.
  Result<KeyInfo> verify(std::string_view key);
  // Every key, revoked ones included, oldest first.
  Result<std::vector<KeyInfo>> list();
  // Revokes by exact id, else by display prefix. kNotFound when nothing matches, kConflict when a prefix
  // matches several active keys; revoking a revoked key succeeds and changes nothing.
  Status revoke(std::string_view id_or_prefix);
  Result<std::int64_t> count_active();
  // Registers an operator-supplied key (CELLBLOCK_API_KEY) if it is not stored yet; true when inserted. A
  // seeded key that was later revoked stays revoked. Accepts any key of 20..256 printable non-space ASCII
  // characters (kInvalidArgument otherwise); whether it has the e2b_ shape is the caller's concern.
  Result<bool> seed(std::string_view plaintext, std::string_view name = "CELLBLOCK_API_KEY");

  // The plausibility check verify() and seed() apply.
  static bool well_formed(std::string_view key);

 private:
  Status insert(const std::string& id, std::string_view name, std::string_view key);

  Database* db_;
  Clock clock_;
};

}  // namespace cellblock::store
