#include "net/dns_message.h"

#include <optional>
#include <utility>

#include "net/byte_reader.h"
#include "net/hostname.h"

namespace cellblock::net {
namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::uint16_t kFlagResponse = 0x8000;
constexpr std::uint16_t kFlagTruncated = 0x0200;
constexpr std::uint16_t kFlagRecursionDesired = 0x0100;
constexpr std::uint16_t kTypeA = 1;
constexpr std::uint16_t kTypeCname = 5;
constexpr std::uint16_t kClassIn = 1;
constexpr std::uint16_t kRcodeNoError = 0;
constexpr std::uint16_t kRcodeNxDomain = 3;
constexpr std::size_t kMaxWireNameSize = 255;  // RFC 1035 §3.1, length octets and the root label included
constexpr int kMaxPointerHops = 128;  // a name has at most 127 labels, each reached by at most one jump
constexpr int kMaxCnameChain = 16;

// A domain name in wire form (length-prefixed labels ending with the empty root label), lower-cased so two
// names compare with ==. Kept in wire form rather than dotted text so that a label containing a dot cannot
// pass for two labels.
using WireName = std::string;

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::optional<WireName> wire_name(std::string_view name) {
  std::optional<std::string> hostname = normalize_hostname(name);
  if (!hostname) return std::nullopt;
  WireName wire;
  std::string_view rest = *hostname;
  while (!rest.empty()) {
    const std::size_t dot = rest.find('.');
    const std::string_view label = rest.substr(0, dot);
    wire.push_back(static_cast<char>(label.size()));
    wire.append(label);
    rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
  }
  wire.push_back('\0');
  return wire;
}

struct NameRead {
  WireName name;
  std::size_t end = 0;  // just past the name where it was read (after its first pointer, if any)
};

// The possibly compressed name at `offset` (RFC 1035 §4.1.4). A pointer must point before the start of the
// labels it ends, so the jumps walk strictly backwards and cannot loop; the hop and size caps bound the work
// per name whatever the message holds.
std::optional<NameRead> read_name(std::string_view message, std::size_t offset) {
  NameRead read;
  std::optional<std::size_t> end;
  std::size_t segment_start = offset;
  std::size_t at = offset;
  int hops = 0;
  while (true) {
    if (at >= message.size()) return std::nullopt;
    const auto length = static_cast<std::uint8_t>(message[at]);
    if ((length & 0xc0) == 0xc0) {
      if (at + 1 >= message.size() || ++hops > kMaxPointerHops) return std::nullopt;
      const std::size_t target =
          (std::size_t{length & 0x3fu} << 8) | static_cast<std::uint8_t>(message[at + 1]);
      if (!end) end = at + 2;
      if (target < kHeaderSize || target >= segment_start) return std::nullopt;
      segment_start = target;
      at = target;
      continue;
    }
    if ((length & 0xc0) != 0) return std::nullopt;  // 0x40 and 0x80: obsolete extended label types
    if (read.name.size() + 1 + length > kMaxWireNameSize) return std::nullopt;
    read.name.push_back(static_cast<char>(length));
    if (length == 0) {
      read.end = end.value_or(at + 1);
      return read;
    }
    if (message.size() - at - 1 < length) return std::nullopt;
    for (std::size_t i = at + 1; i <= at + length; ++i) read.name.push_back(lower(message[i]));
    at += 1 + length;
  }
}

std::string rcode_name(std::uint16_t rcode) {
  switch (rcode) {
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
    default:
      return "RCODE " + std::to_string(rcode);
  }
}

struct ARecord {
  WireName owner;
  std::uint32_t address = 0;
};
struct CnameRecord {
  WireName owner;
  WireName target;
};

}  // namespace

Result<std::string> build_a_query(std::uint16_t id, std::string_view name) {
  std::optional<WireName> qname = wire_name(name);
  if (!qname) {
    return fail(ErrorCode::kInvalidArgument,
                "cannot resolve \"" + std::string(name) + "\": not a valid hostname");
  }
  std::string query;
  query.reserve(kHeaderSize + qname->size() + 4);
  const auto put_u16 = [&](std::uint16_t value) {
    query.push_back(static_cast<char>(value >> 8));
    query.push_back(static_cast<char>(value & 0xff));
  };
  put_u16(id);
  put_u16(kFlagRecursionDesired);
  put_u16(1);  // one question
  put_u16(0);  // no answers
  put_u16(0);  // no authority records
  put_u16(0);  // no additional records
  query.append(*qname);
  put_u16(kTypeA);
  put_u16(kClassIn);
  return query;
}

Result<std::string> build_tcp_query(std::uint16_t id, std::string_view name) {
  Result<std::string> query = build_a_query(id, name);
  if (!query) return query;
  // A name of at most 255 octets keeps the message far below the 65535 the prefix can say.
  std::string framed;
  framed.reserve(2 + query->size());
  framed.push_back(static_cast<char>(query->size() >> 8));
  framed.push_back(static_cast<char>(query->size() & 0xff));
  framed.append(*query);
  return framed;
}

Result<std::vector<std::uint32_t>> parse_a_answers(std::string_view response, std::uint16_t expected_id,
                                                   std::string_view name) {
  std::optional<WireName> qname = wire_name(name);
  if (!qname) {
    // The query for it could not have been built: a bug in the caller, not an answer to drop.
    return fail(ErrorCode::kInternal, "\"" + std::string(name) + "\" is not a valid hostname");
  }
  const std::string shown = *normalize_hostname(name);

  ByteReader reader(response);
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::uint16_t question_count = 0;
  std::uint16_t answer_count = 0;
  if (!reader.read_u16(id) || !reader.read_u16(flags) || !reader.read_u16(question_count) ||
      !reader.read_u16(answer_count) || !reader.skip(4)) {
    return fail(kDnsNotOurAnswer, "DNS response for " + shown + " is shorter than a DNS header");
  }
  if (id != expected_id) {
    return fail(kDnsNotOurAnswer, "DNS response id " + std::to_string(id) + " does not match the query's " +
                                      std::to_string(expected_id) + " for " + shown);
  }
  if ((flags & kFlagResponse) == 0) {
    return fail(kDnsNotOurAnswer, "DNS message for " + shown + " is not a response");
  }
  if (((flags >> 11) & 0xf) != 0) {
    return fail(kDnsNotOurAnswer, "DNS response for " + shown + " is not for a standard query");
  }
  if ((flags & kFlagTruncated) != 0) {
    return fail(kDnsTruncated, "DNS answer for " + shown + " was truncated; ask again over TCP");
  }
  const std::uint16_t rcode = flags & 0xf;

  // The question must be ours. A server that refuses or cannot parse a query may leave it out.
  if (question_count == 1) {
    std::optional<NameRead> question = read_name(response, reader.offset());
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    if (!question) return fail(kDnsNotOurAnswer, "DNS response for " + shown + " has a malformed question");
    reader = ByteReader(response, question->end);
    if (!reader.read_u16(type) || !reader.read_u16(klass)) {
      return fail(kDnsNotOurAnswer, "DNS response for " + shown + " has a malformed question");
    }
    if (question->name != *qname || type != kTypeA || klass != kClassIn) {
      return fail(kDnsNotOurAnswer, "DNS response does not answer the question for " + shown);
    }
  } else if (question_count != 0 || rcode == kRcodeNoError || rcode == kRcodeNxDomain) {
    return fail(kDnsNotOurAnswer, "DNS response for " + shown + " does not echo the question");
  }

  if (rcode == kRcodeNxDomain) {
    return fail(ErrorCode::kNotFound, "DNS: " + shown + " does not exist (NXDOMAIN)");
  }
  if (rcode != kRcodeNoError) {
    return fail(ErrorCode::kUnavailable, "DNS server answered " + rcode_name(rcode) + " for " + shown);
  }

  const auto malformed = [&] { return fail(ErrorCode::kUnavailable, "malformed DNS answer for " + shown); };
  std::vector<ARecord> addresses;
  std::vector<CnameRecord> aliases;
  for (std::uint16_t i = 0; i < answer_count; ++i) {
    std::optional<NameRead> owner = read_name(response, reader.offset());
    if (!owner) return malformed();
    reader = ByteReader(response, owner->end);
    std::uint16_t type = 0;
    std::uint16_t klass = 0;
    std::uint32_t ttl = 0;
    std::uint16_t data_size = 0;
    std::string_view data;
    if (!reader.read_u16(type) || !reader.read_u16(klass) || !reader.read_u32(ttl) ||
        !reader.read_u16(data_size)) {
      return malformed();
    }
    const std::size_t data_offset = reader.offset();
    if (!reader.read_bytes(data_size, data)) return malformed();
    if (klass != kClassIn) continue;
    if (type == kTypeA) {
      ByteReader address(data);
      std::uint32_t value = 0;
      if (data_size != 4 || !address.read_u32(value)) return malformed();
      addresses.push_back(ARecord{std::move(owner->name), value});
    } else if (type == kTypeCname) {
      std::optional<NameRead> target = read_name(response, data_offset);
      if (!target || target->end != data_offset + data_size) return malformed();
      aliases.push_back(CnameRecord{std::move(owner->name), std::move(target->name)});
    }
  }

  // Follow the chain from the question's name: the addresses of the first name on it that has any.
  WireName current = *qname;
  for (int links = 0;; ++links) {
    std::vector<std::uint32_t> result;
    for (const ARecord& record : addresses) {
      if (record.owner == current) result.push_back(record.address);
    }
    if (!result.empty()) return result;
    const CnameRecord* alias = nullptr;
    for (const CnameRecord& record : aliases) {
      if (record.owner == current) {
        alias = &record;
        break;
      }
    }
    if (alias == nullptr) break;
    if (links == kMaxCnameChain) {
      return fail(ErrorCode::kUnavailable, "DNS answer for " + shown + " has a CNAME chain longer than 16");
    }
    current = alias->target;
  }
  return fail(ErrorCode::kNotFound, "DNS: " + shown + " has no IPv4 address");
}

}  // namespace cellblock::net
