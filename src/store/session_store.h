#pragma once
// Browser sessions of the web app (the `cellblock_session` cookie). A token is 64 lowercase hex characters,
// 32 bytes from the kernel's CSPRNG; only its SHA-256 is stored, so the plaintext exists once, in create()'s
// answer. Sessions end at a fixed time (no sliding expiry). Not thread-safe: use it from the thread that owns
// the Database.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"
#include "store/clock.h"
#include "store/sqlite.h"

namespace cellblock::store {

class SessionStore {
 public:
  // `db` must be migrated and outlive the store. `clock` decides creation, expiry and last_seen_at.
  explicit SessionStore(Database& db, Clock clock = unix_nanos_now);

  // A new session of `user_id` that ends `lifetime` from now; returns its token. kInvalidArgument for an
  // empty user id or a lifetime that is not positive or reaches past the year 2262 (int64 nanoseconds).
  Result<std::string> create(std::string_view user_id, std::chrono::seconds lifetime);
  // The session's user id when the token is known and not expired; kUnauthenticated otherwise (including
  // malformed tokens, rejected before any lookup). Stamps last_seen_at, at most once a minute to spare the
  // disk.
  Result<std::string> verify(std::string_view token);
  // Ends the session. Unknown, expired and malformed tokens succeed and change nothing: logging out must
  // always work.
  Status revoke(std::string_view token);
  // Deletes expired sessions; returns how many.
  Result<std::int64_t> purge_expired();

  // The shape create() issues; verify() rejects anything else.
  static bool well_formed(std::string_view token);

 private:
  // Sets last_seen_at = now unless another request did so within the last minute.
  Status touch(const std::string& hash, std::int64_t now);

  Database* db_;
  Clock clock_;
};

}  // namespace cellblock::store
