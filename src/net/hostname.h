#pragma once
// The hostnames the egress proxy works with: the name it takes from an HTTP Host header or a TLS SNI, matches
// against allowOut, and resolves itself. One shape for all three, so a name that passes the peek can always
// be put in a DNS query.
//
// Pure: no sockets, no name resolution.

#include <optional>
#include <string>
#include <string_view>

namespace cellblock::net {

// The longest name in presentation form, without the trailing dot (RFC 1035 §2.3.4 allows 255 octets on the
// wire: 253 characters of text).
inline constexpr std::size_t kMaxHostnameLength = 253;

// `name` in the one form the proxy compares and resolves: ASCII lower-case with one trailing dot removed, or
// nothing when it is not a hostname. A hostname is labels of 1-63 letters, digits, hyphens and underscores
// joined by dots, at most 253 characters. Internationalised names arrive as punycode ("xn--..."), as clients
// send them. An IPv4 literal ("1.2.3.4") has this shape too and is kept; an IPv6 literal is not.
std::optional<std::string> normalize_hostname(std::string_view name);

}  // namespace cellblock::net
