#pragma once
// DNS messages for the egress proxy's own resolver (RFC 1035). The proxy resolves the hostname it peeked
// (traffic_peek.h) with the sandboxes' configured DNS servers, never the host's resolver, so that /etc/hosts
// tricks inside the sandbox and the host's own resolver configuration cannot redirect it: it builds the A
// query and reads the answer itself.
//
// Pure: the caller owns the sockets, the server list, timeouts and retries, and picks the query id (it should
// be random, from a fresh random source port, so an off-path attacker cannot forge the answer). Queries carry
// no EDNS option, so a UDP answer is at most 512 bytes; a larger one comes back truncated (TC) and the caller
// asks again over TCP.
//
// The response is hostile input: every read is bounds-checked, name compression pointers must point backwards
// and are followed at most 128 times per name, and parsing is linear in the response's size.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cellblock::net {

// How parse_a_answers fails, by ErrorCode, and what the caller does next:
//   kDnsNotOurAnswer (kInvalidArgument): the bytes are not a response to this query (shorter than a header,
//       another id, not a response, another opcode, another question). Possibly forged or a late answer to an
//       earlier query: a UDP caller drops it and keeps waiting for the real one.
//   kDnsTruncated (kPayloadTooLarge): the server set TC, the answer did not fit in UDP: ask the same server
//       again over TCP with build_tcp_query.
//   kNotFound: the name does not exist (NXDOMAIN) or has no IPv4 address; the message names it.
//   kUnavailable: the server failed (SERVFAIL, REFUSED, NOTIMP, FORMERR, ...) or its answer is malformed or
//       has a CNAME chain longer than 16: try the next server.
inline constexpr ErrorCode kDnsNotOurAnswer = ErrorCode::kInvalidArgument;
inline constexpr ErrorCode kDnsTruncated = ErrorCode::kPayloadTooLarge;

// A standard query (recursion desired) for the IN A records of `name`. `name` must be a hostname as
// normalize_hostname (hostname.h) accepts it: labels of 1-63 letters, digits, hyphens and underscores, at
// most 253 characters, one trailing dot allowed; it is sent lower-case. kInvalidArgument otherwise. IP
// literals pass this check, but the caller dials those directly instead of resolving them.
Result<std::string> build_a_query(std::uint16_t id, std::string_view name);

// The same query framed for DNS over TCP (RFC 1035 §4.2.2): a 2-byte big-endian length, then the message. The
// answer comes back framed the same way; parse_a_answers takes it without its length prefix.
Result<std::string> build_tcp_query(std::uint16_t id, std::string_view name);

// The IPv4 addresses (host byte order, in answer order, never empty) that `response` gives for `name`, the
// name the query with `expected_id` asked for. The response must echo the question (names compared
// case-insensitively). A records count only if they belong to `name` or to the end of a CNAME chain starting
// at it within the answer section (at most 16 links); records for other names are ignored. The authority and
// additional sections are not read. Errors: see kDnsNotOurAnswer above; a `name` build_a_query refuses is
// kInternal.
Result<std::vector<std::uint32_t>> parse_a_answers(std::string_view response, std::uint16_t expected_id,
                                                   std::string_view name);

}  // namespace cellblock::net
