#include "store/session_store.h"

#include <limits>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "store/token_hash.h"

namespace cellblock::store {
namespace {

constexpr std::size_t kTokenRandomBytes = 32;  // 256 bits: guessing is hopeless, no rate limit needed
constexpr std::size_t kTokenLength = 2 * kTokenRandomBytes;
constexpr std::int64_t kNanosPerSecond = 1'000'000'000;
constexpr std::int64_t kLastSeenResolution = 60 * kNanosPerSecond;  // one minute

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// now + lifetime in unix ns, or nullopt when that is not positive or overflows int64.
std::optional<std::int64_t> expiry(std::int64_t now, std::chrono::seconds lifetime) {
  std::int64_t seconds = lifetime.count();
  if (seconds <= 0 || seconds > (std::numeric_limits<std::int64_t>::max() - now) / kNanosPerSecond) {
    return std::nullopt;
  }
  return now + seconds * kNanosPerSecond;
}

}  // namespace

SessionStore::SessionStore(Database& db, Clock clock) : db_(&db), clock_(std::move(clock)) {}

bool SessionStore::well_formed(std::string_view token) {
  if (token.size() != kTokenLength) return false;
  for (char c : token) {
    if (!is_lower_hex(c)) return false;
  }
  return true;
}

Result<std::string> SessionStore::create(std::string_view user_id, std::chrono::seconds lifetime) {
  if (user_id.empty()) return fail(ErrorCode::kInvalidArgument, "a session needs a user id");
  std::int64_t now = clock_();
  auto expires_at = expiry(now, lifetime);
  if (!expires_at) {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("session lifetime of {} s is not positive or too long", lifetime.count()));
  }
  std::string token = random_hex(kTokenRandomBytes);
  auto hash = sha256_hex(token);
  if (!hash) return tl::unexpected(hash.error());
  auto stmt = db_->prepare(
      "INSERT INTO web_sessions (hash, user_id, created_at, expires_at, last_seen_at) VALUES (?1, ?2, ?3, "
      "?4, "
      "?3)");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound : {stmt->bind_text(1, *hash), stmt->bind_text(2, user_id), stmt->bind_int64(3, now),
                     stmt->bind_int64(4, *expires_at)}) {
    if (!bound) return tl::unexpected(bound.error());
  }
  if (auto ran = stmt->run(); !ran) return tl::unexpected(ran.error());
  return token;
}

Result<std::string> SessionStore::verify(std::string_view token) {
  if (!well_formed(token)) return fail(ErrorCode::kUnauthenticated, "malformed session token");
  auto hash = sha256_hex(token);
  if (!hash) return tl::unexpected(hash.error());
  auto stmt = db_->prepare("SELECT user_id, expires_at, last_seen_at FROM web_sessions WHERE hash = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, *hash); !bound) return tl::unexpected(bound.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kUnauthenticated, "unknown session");
  std::string user_id = stmt->column_text(0);
  std::int64_t expires_at = stmt->column_int64(1);
  std::int64_t last_seen_at = stmt->column_int64(2);

  std::int64_t now = clock_();
  if (now >= expires_at) return fail(ErrorCode::kUnauthenticated, "session expired");
  if (now - last_seen_at >= kLastSeenResolution) {
    if (auto touched = touch(*hash, now); !touched) return tl::unexpected(touched.error());
  }
  return user_id;
}

// No transaction around verify's read and this write: the condition is repeated in the UPDATE itself, so a
// concurrent touch or revoke in between leaves a correct row (or none) either way, and most verifications
// stay read-only instead of taking the write lock.
Status SessionStore::touch(const std::string& hash, std::int64_t now) {
  auto stmt =
      db_->prepare("UPDATE web_sessions SET last_seen_at = ?1 WHERE hash = ?2 AND last_seen_at <= ?3");
  if (!stmt) return tl::unexpected(stmt.error());
  for (auto bound :
       {stmt->bind_int64(1, now), stmt->bind_text(2, hash), stmt->bind_int64(3, now - kLastSeenResolution)}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Status SessionStore::revoke(std::string_view token) {
  if (!well_formed(token)) return {};  // nothing with this shape was ever issued
  auto hash = sha256_hex(token);
  if (!hash) return tl::unexpected(hash.error());
  auto stmt = db_->prepare("DELETE FROM web_sessions WHERE hash = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, *hash); !bound) return bound;
  return stmt->run();
}

Result<std::int64_t> SessionStore::purge_expired() {
  auto stmt = db_->prepare("DELETE FROM web_sessions WHERE expires_at <= ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_int64(1, clock_()); !bound) return tl::unexpected(bound.error());
  if (auto ran = stmt->run(); !ran) return tl::unexpected(ran.error());
  return db_->changes();
}

}  // namespace cellblock::store
