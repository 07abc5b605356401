#pragma once
// Small, allocation-light encoders shared by the wire protocols (Connect bytes fields, file signatures,
// tokens).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace cellblock {

// Standard base64 with padding.
std::string base64_encode(std::string_view bytes);
// Accepts standard and URL-safe alphabets, with or without padding (as protobuf's JSON mapping does).
std::optional<std::string> base64_decode(std::string_view text);
// Standard alphabet without padding (E2B's file URL signatures).
std::string base64_encode_unpadded(std::string_view bytes);

std::string hex_encode(std::span<const unsigned char> bytes);
// ASCII case-insensitive equality (header names, schemes, hostnames).
bool iequals(std::string_view a, std::string_view b);
// `count` random bytes from the kernel's CSPRNG, hex encoded (2 * count characters).
std::string random_hex(std::size_t count);
// A random id of `length` characters from [a-z0-9] (sandbox and context ids: never a '-').
std::string random_id(std::size_t length);

// RFC 3339 UTC time with nanoseconds trimmed to microseconds, e.g. "2026-01-02T03:04:05.123456Z".
std::string rfc3339(std::int64_t unix_nanos);
std::string rfc3339_now();
std::int64_t unix_nanos_now();

// Percent-decoding of a URL component; '+' is kept as is. Returns nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);
// Percent-encoding of everything but RFC 3986's unreserved characters: the text is one path segment.
std::string percent_encode(std::string_view text);

}  // namespace cellblock
