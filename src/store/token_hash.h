#pragma once
// Secrets the store checks but must never keep (API keys, web session tokens) are stored as the lowercase hex
// SHA-256 of their plaintext: a copy of the database, or of its WAL, then holds nothing an attacker can
// present. A plain hash (no salt, no stretching) is enough because every such secret is long and random or
// operator-chosen with a length floor, never a human password.

#include <string>
#include <string_view>

#include "common/error.h"

namespace cellblock::store {

// 64 lowercase hex characters; kInternal only when OpenSSL itself fails.
Result<std::string> sha256_hex(std::string_view text);

}  // namespace cellblock::store
