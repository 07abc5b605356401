#include "store/api_key_store.h"

#include <utility>

#include <fmt/format.h>

#include "store/token_hash.h"

namespace cellblock::store {
namespace {

constexpr std::string_view kKeyPrefix = "e2b_";
constexpr std::size_t kKeyRandomBytes = 20;  // 40 hex characters
constexpr std::size_t kPrefixLength = 8;
constexpr std::size_t kMinKeyLength = 20;
constexpr std::size_t kMaxKeyLength = 256;
constexpr std::size_t kKeyIdLength = 16;
constexpr std::int64_t kLastUsedResolution = 60'000'000'000;  // one minute in ns

constexpr std::string_view kSelectColumns = "id, name, prefix, created_at, last_used_at, revoked_at";

std::string display_prefix(std::string_view key) {
  if (key.starts_with(kKeyPrefix)) key.remove_prefix(kKeyPrefix.size());
  return std::string(key.substr(0, kPrefixLength));
}

KeyInfo read_key(const Statement& stmt) {
  KeyInfo info;
  info.id = stmt.column_text(0);
  info.name = stmt.column_text(1);
  info.prefix = stmt.column_text(2);
  info.created_at = stmt.column_int64(3);
  info.last_used_at = stmt.column_optional_int64(4);
  info.revoked_at = stmt.column_optional_int64(5);
  return info;
}

}  // namespace

ApiKeyStore::ApiKeyStore(Database& db, Clock clock) : db_(&db), clock_(std::move(clock)) {}

bool ApiKeyStore::well_formed(std::string_view key) {
  if (key.size() < kMinKeyLength || key.size() > kMaxKeyLength) return false;
  for (char c : key) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

Status ApiKeyStore::insert(const std::string& id, std::string_view name, std::string_view key) {
  auto hash = sha256_hex(key);
  if (!hash) return tl::unexpected(hash.error());
  auto stmt =
      db_->prepare("INSERT INTO api_keys (id, name, prefix, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!stmt) return tl::unexpected(stmt.error());
  std::string prefix = display_prefix(key);
  for (auto bound : {stmt->bind_text(1, id), stmt->bind_text(2, name), stmt->bind_text(3, prefix),
                     stmt->bind_text(4, *hash), stmt->bind_int64(5, clock_())}) {
    if (!bound) return bound;
  }
  return stmt->run();
}

Result<CreatedKey> ApiKeyStore::create(std::string_view name) {
  CreatedKey created{"key_" + random_id(kKeyIdLength), std::string(kKeyPrefix) + random_hex(kKeyRandomBytes)};
  if (auto inserted = insert(created.id, name, created.key); !inserted)
    return tl::unexpected(inserted.error());
  return created;
}

Result<KeyInfo> ApiKeyStore::verify(std::string_view key) {
  if (!well_formed(key)) return fail(ErrorCode::kUnauthenticated, "malformed API key");
  auto hash = sha256_hex(key);
  if (!hash) return tl::unexpected(hash.error());
  auto stmt = db_->prepare(fmt::format("SELECT {} FROM api_keys WHERE hash = ?1", kSelectColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, *hash); !bound) return tl::unexpected(bound.error());
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kUnauthenticated, "invalid API key");
  KeyInfo info = read_key(*stmt);
  if (info.revoked_at) return fail(ErrorCode::kUnauthenticated, "API key has been revoked");

  std::int64_t now = clock_();
  if (!info.last_used_at || now - *info.last_used_at >= kLastUsedResolution) {
    auto touch = db_->prepare("UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2");
    if (!touch) return tl::unexpected(touch.error());
    for (auto bound : {touch->bind_int64(1, now), touch->bind_text(2, info.id)}) {
      if (!bound) return tl::unexpected(bound.error());
    }
    if (auto ran = touch->run(); !ran) return tl::unexpected(ran.error());
    info.last_used_at = now;
  }
  return info;
}

Result<std::vector<KeyInfo>> ApiKeyStore::list() {
  auto stmt = db_->prepare(fmt::format("SELECT {} FROM api_keys ORDER BY created_at, id", kSelectColumns));
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<KeyInfo> keys;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return keys;
    keys.push_back(read_key(*stmt));
  }
}

Status ApiKeyStore::revoke(std::string_view id_or_prefix) {
  auto stmt =
      db_->prepare("SELECT id, revoked_at IS NOT NULL, id = ?1 FROM api_keys WHERE id = ?1 OR prefix = ?1");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto bound = stmt->bind_text(1, id_or_prefix); !bound) return bound;
  std::optional<std::string> exact;
  std::vector<std::string> active;
  bool any = false;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) break;
    any = true;
    bool revoked = stmt->column_int64(1) != 0;
    if (stmt->column_int64(2) != 0) exact = revoked ? std::string() : stmt->column_text(0);
    if (!revoked) active.push_back(stmt->column_text(0));
  }
  if (!any)
    return fail(ErrorCode::kNotFound, fmt::format("no API key with id or prefix \"{}\"", id_or_prefix));

  std::string target;
  if (exact) {
    target = *exact;  // empty: the exact match is already revoked
  } else if (active.size() > 1) {
    return fail(ErrorCode::kConflict, fmt::format("prefix \"{}\" matches {} active keys; revoke by id",
                                                  id_or_prefix, active.size()));
  } else if (active.size() == 1) {
    target = active.front();
  }
  if (target.empty()) return {};

  auto update = db_->prepare("UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL");
  if (!update) return tl::unexpected(update.error());
  for (auto bound : {update->bind_int64(1, clock_()), update->bind_text(2, target)}) {
    if (!bound) return bound;
  }
  return update->run();
}

Result<std::int64_t> ApiKeyStore::count_active() {
  return db_->query_int64("SELECT count(*) FROM api_keys WHERE revoked_at IS NULL");
}

Result<bool> ApiKeyStore::seed(std::string_view plaintext, std::string_view name) {
  if (!well_formed(plaintext)) {
    return fail(ErrorCode::kInvalidArgument,
                "the API key must be 20 to 256 printable ASCII characters without spaces");
  }
  // The UNIQUE hash decides: no read-then-write race with a CLI seeding the same key.
  auto inserted = insert("key_" + random_id(kKeyIdLength), name, plaintext);
  if (!inserted) {
    if (inserted.error().code == ErrorCode::kAlreadyExists) return false;
    return tl::unexpected(inserted.error());
  }
  return true;
}

}  // namespace cellblock::store
