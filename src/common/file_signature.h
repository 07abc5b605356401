#pragma once
// E2B's signed file URLs (e2b-api.md §2.5), shared by the agent (which checks them) and the server's proxy
// (which finds the sandbox a signed URL belongs to, since such URLs carry no sandbox id).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cellblock {

// "v1_" + base64(sha256("<path>:<operation>:<username>:<token>[:<expiration>]")) without padding.
std::string file_signature(std::string_view path, std::string_view operation, std::string_view username,
                           std::string_view token, std::optional<std::int64_t> expiration);

// The token inbound traffic to a sandbox created with `allowPublicTraffic: false` must carry
// (`e2b-traffic-access-token`): derived from the sandbox's id and its envd token, so it stays the same across
// pauses and restarts and no one without the sandbox's token can compute it. 40 hex characters.
std::string traffic_access_token(std::string_view sandbox_id, std::string_view envd_token);

// Compares in constant time (for equal lengths).
bool secure_equals(std::string_view a, std::string_view b);

}  // namespace cellblock
