#include "net/egress_rules.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <utility>

#include <boost/json.hpp>

namespace cellblock::net {
namespace {

namespace json = boost::json;

constexpr std::uint16_t kEnvdPort = 49983;

constexpr std::string_view kDomainsNeedAllTraffic =
    "When specifying allowed domains in allow out, you must include 'ALL_TRAFFIC' in deny out to block all "
    "other traffic.";

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string_view without_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

std::uint32_t prefix_mask(int prefix) {
  if (prefix <= 0) return 0;
  if (prefix >= 32) return ~std::uint32_t{0};
  return ~std::uint32_t{0} << (32 - prefix);
}

// A CIDR prefix as Go's net.ParseCIDR reads it: one or more decimal digits (leading zeros allowed), at most
// `max_bits`.
std::optional<int> parse_prefix(std::string_view text, int max_bits) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > max_bits) return std::nullopt;
  return value;
}

// Four decimal octets as Go's netip.ParseAddr reads them: 0-255, no leading zeros, nothing else.
std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  std::uint32_t address = 0;
  int octets = 0;
  std::size_t at = 0;
  while (octets < 4) {
    std::size_t digits = 0;
    int value = 0;
    while (at + digits < text.size() && text[at + digits] >= '0' && text[at + digits] <= '9') {
      if (digits == 1 && value == 0) return std::nullopt;  // a leading zero ("01")
      value = value * 10 + (text[at + digits] - '0');
      if (value > 255) return std::nullopt;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    address = (address << 8) | static_cast<std::uint32_t>(value);
    at += digits;
    ++octets;
    if (octets < 4) {
      if (at >= text.size() || text[at] != '.') return std::nullopt;
      ++at;
    }
  }
  if (at != text.size()) return std::nullopt;
  return address;
}

std::optional<std::array<unsigned char, 16>> parse_ipv6(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::array<unsigned char, 16> bytes{};
  const std::string copy(text);
  if (inet_pton(AF_INET6, copy.c_str(), bytes.data()) != 1) return std::nullopt;
  return bytes;
}

// Go's IP.IsUnspecified for a 16-byte address: "::" or the IPv4-mapped "::ffff:0.0.0.0".
bool unspecified_ipv6(const std::array<unsigned char, 16>& bytes) {
  const bool zero_head =
      std::all_of(bytes.begin(), bytes.begin() + 10, [](unsigned char b) { return b == 0; });
  const bool zero_tail = std::all_of(bytes.begin() + 12, bytes.end(), [](unsigned char b) { return b == 0; });
  const bool zero_mid = bytes[10] == 0 && bytes[11] == 0;
  const bool mapped_mid = bytes[10] == 0xff && bytes[11] == 0xff;
  return zero_head && zero_tail && (zero_mid || mapped_mid);
}

// An allowOut/denyOut entry that is an IP or CIDR. `specified` is E2B's IsSpecifiedIPOrCIDR: the address part
// is not 0.0.0.0 or ::, except for the literal "0.0.0.0/0".
struct Address {
  EntryKind kind = EntryKind::kIpv4;
  bool specified = true;
  Cidr4 cidr;  // kIpv4 only
};

std::optional<Address> parse_address(std::string_view entry) {
  const std::size_t slash = entry.find('/');
  const std::string_view ip = entry.substr(0, slash);
  const std::optional<std::string_view> prefix =
      slash == std::string_view::npos ? std::nullopt : std::optional(entry.substr(slash + 1));
  if (auto v4 = parse_ipv4(ip)) {
    std::optional<int> bits = prefix ? parse_prefix(*prefix, 32) : std::optional(32);
    if (!bits) return std::nullopt;
    return Address{EntryKind::kIpv4, *v4 != 0 || entry == kAllTraffic,
                   Cidr4{*v4 & prefix_mask(*bits), *bits}};
  }
  if (auto v6 = parse_ipv6(ip)) {
    if (prefix && !parse_prefix(*prefix, 128)) return std::nullopt;
    return Address{EntryKind::kIpv6, !unspecified_ipv6(*v6), Cidr4{}};
  }
  return std::nullopt;
}

// Go's net.SplitHostPort as E2B uses it for maskRequestHost: a "missing port" means the whole value is the
// host; any other error (too many colons, stray brackets) is empty.
std::optional<std::string_view> mask_host_part(std::string_view value) {
  const std::size_t colon = value.rfind(':');
  if (colon == std::string_view::npos) return value;
  std::string_view host;
  std::size_t no_open_from = 0;
  std::size_t no_close_from = 0;
  if (value.front() == '[') {
    const std::size_t end = value.find(']');
    if (end == std::string_view::npos) return std::nullopt;
    if (end + 1 == value.size()) return value;
    if (end + 1 != colon) {
      if (value[end + 1] == ':') return std::nullopt;
      return value;
    }
    host = value.substr(1, end - 1);
    no_open_from = 1;
    no_close_from = end + 1;
  } else {
    host = value.substr(0, colon);
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (value.find('[', no_open_from) != std::string_view::npos) return std::nullopt;
  if (value.find(']', no_close_from) != std::string_view::npos) return std::nullopt;
  return host;
}

// E2B checks the host with IDNA (display profile, STD3 rules) and then insists that it was ASCII already. In
// ASCII that leaves letters, digits, '-' and '.', with no label starting or ending with '-' and none with
// "--" in its third and fourth place unless it is punycode ("xn--").
Status validate_mask_request_host(std::string_view value) {
  auto invalid = [&] {
    return fail(ErrorCode::kInvalidArgument, "mask request host is not valid: " + std::string(value));
  };
  const std::optional<std::string_view> host = mask_host_part(value);
  if (!host) return invalid();
  bool ascii = true;
  std::size_t label_start = 0;
  for (std::size_t i = 0; i <= host->size(); ++i) {
    if (i == host->size() || (*host)[i] == '.') {
      const std::string_view label = host->substr(label_start, i - label_start);
      if (!label.empty() && (label.front() == '-' || label.back() == '-')) return invalid();
      if (label.size() >= 4 && label.substr(2, 2) == "--" && lower_ascii(label.substr(0, 2)) != "xn") {
        return invalid();
      }
      label_start = i + 1;
      continue;
    }
    const auto c = static_cast<unsigned char>((*host)[i]);
    if (c >= 0x80) {
      ascii = false;
    } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')) {
      return invalid();
    }
  }
  if (!ascii) {
    return fail(ErrorCode::kInvalidArgument, "mask request host '" + std::string(*host) +
                                                 "' is not ASCII. Please use ASCII characters only.");
  }
  return {};
}

const json::value* present(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  return value == nullptr || value->is_null() ? nullptr : value;
}

// `label` names the field in messages: "network.allowOut" at create, "allowOut" in an update.
Result<std::vector<std::string>> string_list(const json::object& object, std::string_view key,
                                             std::string_view label) {
  std::vector<std::string> out;
  const json::value* value = present(object, key);
  if (!value) return out;
  const json::array* array = value->if_array();
  if (array == nullptr)
    return fail(ErrorCode::kInvalidArgument, std::string(label) + " must be an array of strings");
  out.reserve(array->size());
  for (std::size_t i = 0; i < array->size(); ++i) {
    const json::string* text = (*array)[i].if_string();
    if (text == nullptr) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(label) + "[" + std::to_string(i) + "] must be a string");
    }
    out.emplace_back(*text);
  }
  return out;
}

Result<std::optional<bool>> optional_bool(const json::object& object, std::string_view key,
                                          std::string_view label) {
  const json::value* value = present(object, key);
  if (!value) return std::optional<bool>();
  if (!value->is_bool())
    return fail(ErrorCode::kInvalidArgument, std::string(label) + " must be true or false");
  return std::optional<bool>(value->get_bool());
}

// A port number from JSON: an integer 1-65535 (not a float, not a string).
std::optional<std::uint16_t> port_number(const json::value& value) {
  std::int64_t number = 0;
  if (value.is_int64()) {
    number = value.get_int64();
  } else if (value.is_uint64()) {
    if (value.get_uint64() > 65535) return std::nullopt;
    number = static_cast<std::int64_t>(value.get_uint64());
  } else {
    return std::nullopt;
  }
  if (number < 1 || number > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(number);
}

Result<std::vector<std::uint16_t>> https_ports(const json::object& network) {
  std::vector<std::uint16_t> ports;
  const json::value* value = present(network, "httpsPorts");
  if (!value) return ports;
  const json::array* array = value->if_array();
  if (array == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "network.httpsPorts must be an array of port numbers");
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    auto port = port_number((*array)[i]);
    if (!port) {
      return fail(ErrorCode::kInvalidArgument,
                  "network.httpsPorts[" + std::to_string(i) + "] must be a port number from 1 to 65535");
    }
    if (*port == kEnvdPort) {
      return fail(ErrorCode::kInvalidArgument,
                  "network.httpsPorts cannot include 49983: it is the envd port, which is always plain HTTP");
    }
    ports.push_back(*port);
  }
  return ports;
}

// Transform rules need a TLS-terminating egress proxy, which this server does not have: refuse rather than
// accept and ignore them (§6.2). An empty object asks for nothing and is fine.
Status refuse_rules(const json::object& body, std::string_view label) {
  const json::value* rules = present(body, "rules");
  if (!rules) return {};
  const json::object* object = rules->if_object();
  if (object == nullptr) return fail(ErrorCode::kInvalidArgument, std::string(label) + " must be an object");
  if (object->empty()) return {};
  return fail(ErrorCode::kInvalidArgument, "Network transform rules are not available for your team.");
}

// Bring-your-own SOCKS5 tunnelling is not built (§7): E2B's 403 for a team without the feature.
Status refuse_egress_proxy(const json::object& body, std::string_view label) {
  if (!present(body, "egressProxy")) return {};
  return fail(ErrorCode::kPermissionDenied,
              "Egress proxy (" + std::string(label) + ") is not enabled for this team.");
}

json::array string_array(const std::vector<std::string>& items) {
  json::array out;
  out.reserve(items.size());
  for (const auto& item : items) out.emplace_back(item);
  return out;
}

json::array port_array(const std::vector<std::uint16_t>& ports) {
  json::array out;
  out.reserve(ports.size());
  for (auto port : ports) out.emplace_back(port);
  return out;
}

}  // namespace

std::string format_ipv4(std::uint32_t address) {
  return std::to_string(address >> 24) + "." + std::to_string((address >> 16) & 0xff) + "." +
         std::to_string((address >> 8) & 0xff) + "." + std::to_string(address & 0xff);
}

bool Cidr4::contains(std::uint32_t ip) const {
  const std::uint32_t mask = prefix_mask(prefix);
  return (ip & mask) == (address & mask);
}

std::string Cidr4::to_string() const {
  return format_ipv4(address) + "/" + std::to_string(prefix);
}

Result<Cidr4> parse_cidr4(std::string_view text) {
  auto address = parse_address(text);
  if (!address || address->kind != EntryKind::kIpv4) {
    return fail(ErrorCode::kInvalidArgument, "invalid IPv4 address or CIDR '" + std::string(text) + "'");
  }
  return address->cidr;
}

EntryKind classify_entry(std::string_view entry) {
  auto address = parse_address(entry);
  return address ? address->kind : EntryKind::kDomain;
}

DomainPattern DomainPattern::parse(std::string_view entry) {
  std::string text = lower_ascii(entry);
  if (text == "*") return DomainPattern{Kind::kAny, ""};
  if (text.starts_with("*.")) {
    const std::string_view parent = without_trailing_dot(std::string_view(text).substr(2));
    if (!parent.empty()) return DomainPattern{Kind::kSubdomains, std::string(parent)};
    return DomainPattern{Kind::kExact, text};  // "*." names no host: keep it literal
  }
  return DomainPattern{Kind::kExact, std::string(without_trailing_dot(text))};
}

bool DomainPattern::matches(std::string_view hostname) const {
  const std::string host = lower_ascii(without_trailing_dot(hostname));
  if (host.empty()) return false;
  switch (kind) {
    case Kind::kAny:
      return true;
    case Kind::kExact:
      return host == name;
    case Kind::kSubdomains:
      return host.size() > name.size() + 1 && host.ends_with(name) &&
             host[host.size() - name.size() - 1] == '.';
  }
  return false;
}

std::string DomainPattern::to_string() const {
  switch (kind) {
    case Kind::kAny:
      return "*";
    case Kind::kSubdomains:
      return "*." + name;
    case Kind::kExact:
      break;
  }
  return name;
}

Result<EgressRules> EgressRules::compile(std::vector<std::string> allow_out,
                                         std::vector<std::string> deny_out, bool deny_all_internet) {
  EgressRules rules;
  for (const auto& entry : deny_out) {
    auto address = parse_address(entry);
    if (!address || !address->specified) {
      return fail(ErrorCode::kInvalidArgument, "invalid denied CIDR " + entry);
    }
    if (address->kind == EntryKind::kIpv4) rules.deny_cidrs_.push_back(address->cidr);
  }
  for (const auto& entry : allow_out) {
    auto address = parse_address(entry);
    if (!address) {
      rules.allow_domains_.push_back(DomainPattern::parse(entry));
      continue;
    }
    if (!address->specified) return fail(ErrorCode::kInvalidArgument, "invalid allowed address " + entry);
    if (address->kind == EntryKind::kIpv4) rules.allow_cidrs_.push_back(address->cidr);
  }
  if (rules.has_domains() && std::find(deny_out.begin(), deny_out.end(), kAllTraffic) == deny_out.end()) {
    return fail(ErrorCode::kInvalidArgument, std::string(kDomainsNeedAllTraffic));
  }
  rules.allow_out_ = std::move(allow_out);
  rules.deny_out_ = std::move(deny_out);
  rules.deny_all_internet_ = deny_all_internet;
  return rules;
}

Verdict decide(const EgressRules& rules, std::string_view hostname, std::uint32_t dest_ip) {
  if (!hostname.empty()) {
    for (const auto& domain : rules.allow_domains()) {
      if (domain.matches(hostname)) return Verdict{true, "allowOut \"" + domain.to_string() + "\""};
    }
  }
  for (const auto& cidr : rules.allow_cidrs()) {
    if (cidr.contains(dest_ip)) return Verdict{true, "allowOut \"" + cidr.to_string() + "\""};
  }
  // E2B replaces the denied list with 0.0.0.0/0 under allow_internet_access false, so that is what denied.
  if (rules.deny_all_internet()) return Verdict{false, "allow_internet_access false"};
  for (const auto& cidr : rules.deny_cidrs()) {
    if (cidr.contains(dest_ip)) return Verdict{false, "denyOut \"" + cidr.to_string() + "\""};
  }
  return Verdict{true, "default"};
}

Result<NetworkConfig> parse_create_network(const boost::json::value* network,
                                           std::optional<bool> allow_internet_access) {
  NetworkConfig config;
  config.allow_internet_access = allow_internet_access;
  const bool deny_all = allow_internet_access == false;
  if (network == nullptr || network->is_null()) {
    auto egress = EgressRules::compile({}, {}, deny_all);
    if (!egress) return tl::unexpected(egress.error());
    config.egress = std::move(*egress);
    return config;
  }
  const json::object* body = network->if_object();
  if (body == nullptr) return fail(ErrorCode::kInvalidArgument, "network must be an object");

  // E2B's order: maskRequestHost, the egress lists, then rules.
  if (const json::value* mask = present(*body, "maskRequestHost")) {
    if (!mask->is_string())
      return fail(ErrorCode::kInvalidArgument, "network.maskRequestHost must be a string");
    if (auto ok = validate_mask_request_host(mask->get_string()); !ok) return tl::unexpected(ok.error());
    config.ingress.mask_request_host = std::string(mask->get_string());
  }
  auto allow_out = string_list(*body, "allowOut", "network.allowOut");
  if (!allow_out) return tl::unexpected(allow_out.error());
  auto deny_out = string_list(*body, "denyOut", "network.denyOut");
  if (!deny_out) return tl::unexpected(deny_out.error());
  auto egress = EgressRules::compile(std::move(*allow_out), std::move(*deny_out), deny_all);
  if (!egress) return tl::unexpected(egress.error());
  config.egress = std::move(*egress);
  if (auto ok = refuse_rules(*body, "network.rules"); !ok) return tl::unexpected(ok.error());
  if (auto ok = refuse_egress_proxy(*body, "network.egressProxy"); !ok) return tl::unexpected(ok.error());

  auto public_traffic = optional_bool(*body, "allowPublicTraffic", "network.allowPublicTraffic");
  if (!public_traffic) return tl::unexpected(public_traffic.error());
  config.ingress.allow_public_traffic = public_traffic->value_or(true);
  auto ports = https_ports(*body);
  if (!ports) return tl::unexpected(ports.error());
  config.ingress.https_ports = std::move(*ports);
  return config;
}

Result<NetworkUpdate> parse_network_update(const boost::json::value& body) {
  const json::object* object = body.if_object();
  if (object == nullptr) return fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  NetworkUpdate update;
  auto allow_internet_access = optional_bool(*object, "allow_internet_access", "allow_internet_access");
  if (!allow_internet_access) return tl::unexpected(allow_internet_access.error());
  update.allow_internet_access = *allow_internet_access;
  auto allow_out = string_list(*object, "allowOut", "allowOut");
  if (!allow_out) return tl::unexpected(allow_out.error());
  auto deny_out = string_list(*object, "denyOut", "denyOut");
  if (!deny_out) return tl::unexpected(deny_out.error());
  auto egress = EgressRules::compile(std::move(*allow_out), std::move(*deny_out),
                                     update.allow_internet_access == false);
  if (!egress) return tl::unexpected(egress.error());
  update.egress = std::move(*egress);
  if (auto ok = refuse_rules(*object, "rules"); !ok) return tl::unexpected(ok.error());
  if (auto ok = refuse_egress_proxy(*object, "egressProxy"); !ok) return tl::unexpected(ok.error());
  return update;
}

void apply_update(NetworkConfig& config, NetworkUpdate update) {
  config.egress = std::move(update.egress);
  if (update.allow_internet_access) config.allow_internet_access = update.allow_internet_access;
}

boost::json::object network_info_json(const NetworkConfig& config) {
  json::object out;
  out["allowPublicTraffic"] = config.ingress.allow_public_traffic;
  if (config.ingress.mask_request_host) out["maskRequestHost"] = *config.ingress.mask_request_host;
  if (!config.ingress.https_ports.empty()) out["httpsPorts"] = port_array(config.ingress.https_ports);
  if (!config.egress.allow_out().empty()) out["allowOut"] = string_array(config.egress.allow_out());
  if (!config.egress.deny_out().empty()) out["denyOut"] = string_array(config.egress.deny_out());
  return out;
}

std::string to_json(const NetworkConfig& config) {
  json::object out;
  out["allowOut"] = string_array(config.egress.allow_out());
  out["denyOut"] = string_array(config.egress.deny_out());
  out["denyAllInternet"] = config.egress.deny_all_internet();
  out["allowInternetAccess"] =
      config.allow_internet_access ? json::value(*config.allow_internet_access) : json::value(nullptr);
  out["allowPublicTraffic"] = config.ingress.allow_public_traffic;
  out["maskRequestHost"] = config.ingress.mask_request_host ? json::value(*config.ingress.mask_request_host)
                                                            : json::value(nullptr);
  out["httpsPorts"] = port_array(config.ingress.https_ports);
  return json::serialize(out);
}

Result<NetworkConfig> from_json(std::string_view text) {
  auto damaged = [](std::string_view what) {
    return fail(ErrorCode::kInternal, "stored network config is damaged: " + std::string(what));
  };
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec) return damaged("not JSON (" + ec.message() + ")");
  const json::object* object = value.if_object();
  if (object == nullptr) return damaged("not an object");
  static constexpr std::array kKeys = {
      "allowOut",           "denyOut",         "denyAllInternet", "allowInternetAccess",
      "allowPublicTraffic", "maskRequestHost", "httpsPorts"};
  if (object->size() != kKeys.size()) return damaged("unexpected fields");
  for (const char* key : kKeys) {
    if (!object->contains(key)) return damaged(std::string("no ") + key);
  }

  auto strings = [&](std::string_view key) -> std::optional<std::vector<std::string>> {
    const json::array* array = object->at(key).if_array();
    if (array == nullptr) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& item : *array) {
      if (!item.is_string()) return std::nullopt;
      out.emplace_back(item.get_string());
    }
    return out;
  };
  auto allow_out = strings("allowOut");
  auto deny_out = strings("denyOut");
  if (!allow_out || !deny_out) return damaged("allowOut and denyOut must be arrays of strings");
  const json::value& deny_all = object->at("denyAllInternet");
  const json::value& internet = object->at("allowInternetAccess");
  const json::value& public_traffic = object->at("allowPublicTraffic");
  const json::value& mask = object->at("maskRequestHost");
  const json::array* ports = object->at("httpsPorts").if_array();
  if (!deny_all.is_bool() || !public_traffic.is_bool() || !(internet.is_bool() || internet.is_null()) ||
      !(mask.is_string() || mask.is_null()) || ports == nullptr) {
    return damaged("a field has the wrong type");
  }

  NetworkConfig config;
  auto egress = EgressRules::compile(std::move(*allow_out), std::move(*deny_out), deny_all.get_bool());
  if (!egress) return damaged(egress.error().message);
  config.egress = std::move(*egress);
  if (internet.is_bool()) config.allow_internet_access = internet.get_bool();
  config.ingress.allow_public_traffic = public_traffic.get_bool();
  if (mask.is_string()) config.ingress.mask_request_host = std::string(mask.get_string());
  for (const auto& item : *ports) {
    auto port = port_number(item);
    if (!port || *port == kEnvdPort) return damaged("httpsPorts holds an invalid port");
    config.ingress.https_ports.push_back(*port);
  }
  return config;
}

}  // namespace cellblock::net
