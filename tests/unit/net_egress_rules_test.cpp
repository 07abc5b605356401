// The egress rules and network options of a sandbox (e2b-network.md §2-§5, §9, §11): the wire examples, every
// validation message, the allow/deny precedence, and the stored form, on good input and on garbage.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "net/egress_rules.h"

namespace cellblock::net {
namespace {

namespace json = boost::json;

constexpr std::uint32_t ip(std::uint32_t a, std::uint32_t b, std::uint32_t c, std::uint32_t d) {
  return (a << 24) | (b << 16) | (c << 8) | d;
}

// The error of a result that must have failed; a success gives an error no test expects.
template <class T>
Error error_of(const Result<T>& result) {
  return result ? Error{ErrorCode::kUnimplemented, "<unexpectedly succeeded>"} : result.error();
}

Result<NetworkConfig> create(std::string_view network, std::optional<bool> allow_internet_access = {}) {
  const json::value value = json::parse(network);
  return parse_create_network(&value, allow_internet_access);
}

// The 400 message for a create `network`.
std::string create_400(std::string_view network) {
  Error error = error_of(create(network));
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument) << network << ": " << error.message;
  return error.message;
}

Result<NetworkUpdate> update(std::string_view body) {
  return parse_network_update(json::parse(body));
}

std::string update_400(std::string_view body) {
  Error error = error_of(update(body));
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument) << body << ": " << error.message;
  return error.message;
}

EgressRules compiled(std::vector<std::string> allow_out, std::vector<std::string> deny_out,
                     bool deny_all_internet = false) {
  auto rules = EgressRules::compile(std::move(allow_out), std::move(deny_out), deny_all_internet);
  EXPECT_TRUE(rules) << rules.error().message;
  return rules ? *rules : EgressRules();
}

std::string compile_400(std::vector<std::string> allow_out, std::vector<std::string> deny_out,
                        bool deny_all_internet = false) {
  Error error = error_of(EgressRules::compile(std::move(allow_out), std::move(deny_out), deny_all_internet));
  EXPECT_EQ(error.code, ErrorCode::kInvalidArgument) << error.message;
  return error.message;
}

constexpr std::string_view kAllTrafficMessage =
    "When specifying allowed domains in allow out, you must include 'ALL_TRAFFIC' in deny out to block all "
    "other traffic.";

// ---------------------------------------------------------------------------------------------------------------
// Addresses

TEST(Cidr4, ParsesAddressesAndPrefixes) {
  auto single = parse_cidr4("1.2.3.4");
  ASSERT_TRUE(single) << single.error().message;
  EXPECT_EQ(single->address, ip(1, 2, 3, 4));
  EXPECT_EQ(single->prefix, 32);
  EXPECT_EQ(single->to_string(), "1.2.3.4/32");

  auto network = parse_cidr4("10.1.2.3/8");
  ASSERT_TRUE(network);
  EXPECT_EQ(*network, (Cidr4{ip(10, 0, 0, 0), 8})) << "host bits are masked off";
  EXPECT_EQ(network->to_string(), "10.0.0.0/8");

  EXPECT_EQ(*parse_cidr4("255.255.255.255/32"), (Cidr4{0xffffffff, 32}));
  EXPECT_EQ(*parse_cidr4("0.0.0.0/0"), (Cidr4{0, 0}));
  EXPECT_EQ(*parse_cidr4("0.0.0.0"), (Cidr4{0, 32}));
  EXPECT_EQ(*parse_cidr4("192.168.0.0/024"), (Cidr4{ip(192, 168, 0, 0), 24}))
      << "Go reads the prefix as plain digits, leading zeros included";
  EXPECT_EQ(format_ipv4(ip(192, 168, 0, 1)), "192.168.0.1");
  EXPECT_EQ(format_ipv4(0), "0.0.0.0");
}

TEST(Cidr4, RefusesWhatGoRefuses) {
  for (std::string_view bad :
       {"",         "1.2.3",          "1.2.3.4.5",   "256.1.1.1",   "1.2.3.256",    "1.2.3.4/33",
        "1.2.3.4/", "1.2.3.4/-1",     "1.2.3.4/+8",  "1.2.3.4/8/8", "1.2.3.4/1000", "01.2.3.4",
        "1.2.3.04", "1.2.3.00",       " 1.2.3.4",    "1.2.3.4 ",    "1.2.3.4/ 8",   "1.2.3.4\n",
        "1..2.3",   ".1.2.3",         "1.2.3.",      "a.b.c.d",     "0x1.2.3.4",    "1.2.3.4a",
        "::1",      "::ffff:1.2.3.4", "example.com", "/8"}) {
    auto parsed = parse_cidr4(bad);
    ASSERT_FALSE(parsed) << "'" << bad << "' parsed as " << parsed->to_string();
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(parse_cidr4("1.2.3.4/33").error().message, "invalid IPv4 address or CIDR '1.2.3.4/33'");
}

TEST(Cidr4, Contains) {
  const Cidr4 everything{0, 0};
  EXPECT_TRUE(everything.contains(0));
  EXPECT_TRUE(everything.contains(0xffffffff));
  EXPECT_TRUE(everything.contains(ip(8, 8, 8, 8)));

  const Cidr4 one{ip(1, 1, 1, 1), 32};
  EXPECT_TRUE(one.contains(ip(1, 1, 1, 1)));
  EXPECT_FALSE(one.contains(ip(1, 1, 1, 2)));
  EXPECT_FALSE(one.contains(ip(1, 1, 1, 0)));

  const Cidr4 slash24 = *parse_cidr4("8.8.8.0/24");
  EXPECT_TRUE(slash24.contains(ip(8, 8, 8, 0)));
  EXPECT_TRUE(slash24.contains(ip(8, 8, 8, 255)));
  EXPECT_FALSE(slash24.contains(ip(8, 8, 9, 0)));
  EXPECT_FALSE(slash24.contains(ip(8, 8, 7, 255)));

  const Cidr4 slash1 = *parse_cidr4("128.0.0.0/1");
  EXPECT_TRUE(slash1.contains(0x80000000));
  EXPECT_FALSE(slash1.contains(0x7fffffff));
}

TEST(Entries, ClassifiedByE2BsGrammar) {
  EXPECT_EQ(classify_entry("1.1.1.1"), EntryKind::kIpv4);
  EXPECT_EQ(classify_entry("10.0.0.0/8"), EntryKind::kIpv4);
  EXPECT_EQ(classify_entry("::1"), EntryKind::kIpv6);
  EXPECT_EQ(classify_entry("2001:db8::/32"), EntryKind::kIpv6);
  EXPECT_EQ(classify_entry("2001:db8::/128"), EntryKind::kIpv6);
  EXPECT_EQ(classify_entry("::ffff:1.2.3.4"), EntryKind::kIpv6);
  // Not an address, so a domain pattern (which would never match a real hostname).
  EXPECT_EQ(classify_entry("2001:db8::/129"), EntryKind::kDomain);
  EXPECT_EQ(classify_entry("fe80::1%eth0"), EntryKind::kDomain);
  EXPECT_EQ(classify_entry("[::1]"), EntryKind::kDomain);
  EXPECT_EQ(classify_entry("1.2.3.4/33"), EntryKind::kDomain);
  EXPECT_EQ(classify_entry("01.2.3.4"), EntryKind::kDomain);
  EXPECT_EQ(classify_entry("example.com"), EntryKind::kDomain);
  EXPECT_EQ(classify_entry("*"), EntryKind::kDomain);
  EXPECT_EQ(classify_entry(""), EntryKind::kDomain);
}

// ---------------------------------------------------------------------------------------------------------------
// Domain patterns

TEST(DomainPattern, ExactNamesAreCaseInsensitiveAndIgnoreOneTrailingDot) {
  const DomainPattern exact = DomainPattern::parse("API.Example.COM.");
  EXPECT_EQ(exact, (DomainPattern{DomainPattern::Kind::kExact, "api.example.com"}));
  EXPECT_EQ(exact.to_string(), "api.example.com");
  EXPECT_TRUE(exact.matches("api.example.com"));
  EXPECT_TRUE(exact.matches("API.EXAMPLE.COM"));
  EXPECT_TRUE(exact.matches("api.example.com."));
  EXPECT_FALSE(exact.matches("example.com"));
  EXPECT_FALSE(exact.matches("x.api.example.com"));
  EXPECT_FALSE(exact.matches("api.example.com.evil.net"));
  EXPECT_FALSE(exact.matches("api.example.co"));
  EXPECT_FALSE(exact.matches(""));
}

TEST(DomainPattern, WildcardMeansSubdomainsAtAnyDepthNotTheApex) {
  const DomainPattern sub = DomainPattern::parse("*.Example.org");
  EXPECT_EQ(sub, (DomainPattern{DomainPattern::Kind::kSubdomains, "example.org"}));
  EXPECT_EQ(sub.to_string(), "*.example.org");
  EXPECT_TRUE(sub.matches("a.example.org"));
  EXPECT_TRUE(sub.matches("a.b.c.example.org"));
  EXPECT_TRUE(sub.matches("WWW.EXAMPLE.ORG."));
  EXPECT_FALSE(sub.matches("example.org")) << "the apex is not a subdomain";
  EXPECT_FALSE(sub.matches("example.org."));
  EXPECT_FALSE(sub.matches("badexample.org"));
  EXPECT_FALSE(sub.matches("example.org.evil.net"));
  EXPECT_FALSE(sub.matches(".example.org"));
  EXPECT_FALSE(sub.matches(""));
}

TEST(DomainPattern, StarMatchesEveryHostname) {
  const DomainPattern any = DomainPattern::parse("*");
  EXPECT_EQ(any, (DomainPattern{DomainPattern::Kind::kAny, ""}));
  EXPECT_EQ(any.to_string(), "*");
  EXPECT_TRUE(any.matches("example.com"));
  EXPECT_TRUE(any.matches("localhost"));
  EXPECT_FALSE(any.matches("")) << "no hostname, nothing to match";
}

TEST(DomainPattern, OddEntriesStayLiteral) {
  EXPECT_EQ(DomainPattern::parse("*."), (DomainPattern{DomainPattern::Kind::kExact, "*."}));
  EXPECT_FALSE(DomainPattern::parse("*.").matches("example.com"));
  EXPECT_EQ(DomainPattern::parse("*example.com"),
            (DomainPattern{DomainPattern::Kind::kExact, "*example.com"}));
  EXPECT_FALSE(DomainPattern::parse("*example.com").matches("www.example.com"));
  EXPECT_EQ(DomainPattern::parse("foo.*.com").kind, DomainPattern::Kind::kExact);
}

// ---------------------------------------------------------------------------------------------------------------
// Validation (§3.1)

TEST(EgressRules, CompilesEntriesAndEchoesThemAsGiven) {
  const EgressRules rules =
      compiled({"api.example.com", "*.Example.org", "1.1.1.1", "2001:db8::1", "8.8.8.0/24"},
               {"0.0.0.0/0", "2001:db8::/32"});
  EXPECT_EQ(rules.allow_out(), (std::vector<std::string>{"api.example.com", "*.Example.org", "1.1.1.1",
                                                         "2001:db8::1", "8.8.8.0/24"}));
  EXPECT_EQ(rules.deny_out(), (std::vector<std::string>{"0.0.0.0/0", "2001:db8::/32"}));
  EXPECT_EQ(rules.allow_cidrs(), (std::vector<Cidr4>{{ip(1, 1, 1, 1), 32}, {ip(8, 8, 8, 0), 24}}))
      << "IPv6 entries are kept but not compiled";
  EXPECT_EQ(rules.deny_cidrs(), (std::vector<Cidr4>{{0, 0}}));
  EXPECT_EQ(rules.allow_domains(),
            (std::vector<DomainPattern>{{DomainPattern::Kind::kExact, "api.example.com"},
                                        {DomainPattern::Kind::kSubdomains, "example.org"}}));
  EXPECT_TRUE(rules.has_domains());
  EXPECT_FALSE(rules.deny_all_internet());
  EXPECT_FALSE(rules.empty());

  const EgressRules none = compiled({}, {});
  EXPECT_TRUE(none.empty());
  EXPECT_FALSE(none.has_domains());
  EXPECT_EQ(none, EgressRules());
  EXPECT_FALSE(compiled({}, {}, true).empty());
  EXPECT_FALSE(compiled({"1.1.1.1"}, {}).has_domains());
}

TEST(EgressRules, DenyOutTakesSpecifiedAddressesOnly) {
  for (std::string bad : {"not-a-cidr", "example.com", "*", "", "0.0.0.0", "0.0.0.0/8", "0.0.0.0/32",
                          "0.0.0.0/00", "::", "::/0", "::/128", "::ffff:0.0.0.0", "1.2.3.4/33", "01.2.3.4",
                          " 8.8.8.8", "8.8.8.8 ", "2001:db8::/129"}) {
    EXPECT_EQ(compile_400({}, {"8.8.8.8", bad}), "invalid denied CIDR " + bad);
  }
  // Go's rule looks at the address as written: host bits make it specified.
  EXPECT_EQ(compiled({}, {"0.0.0.1/8"}).deny_cidrs(), (std::vector<Cidr4>{{0, 8}}));
  EXPECT_EQ(compiled({}, {"0.0.0.0/0", "8.8.8.8", "2001:db8::1"}).deny_cidrs(),
            (std::vector<Cidr4>{{0, 0}, {ip(8, 8, 8, 8), 32}}));
}

TEST(EgressRules, AllowOutAddressesMustBeSpecified) {
  for (std::string bad : {"0.0.0.0", "0.0.0.0/8", "::", "::/0", "::ffff:0.0.0.0"}) {
    EXPECT_EQ(compile_400({"1.1.1.1", bad}, {"0.0.0.0/0"}), "invalid allowed address " + bad);
  }
  EXPECT_EQ(compiled({"0.0.0.0/0"}, {}).allow_cidrs(), (std::vector<Cidr4>{{0, 0}}));
  // denyOut is checked first, as E2B does.
  EXPECT_EQ(compile_400({"0.0.0.0"}, {"nope"}), "invalid denied CIDR nope");
}

TEST(EgressRules, DomainsNeedTheLiteralAllTrafficInDenyOut) {
  EXPECT_EQ(compile_400({"example.com"}, {}), kAllTrafficMessage);
  EXPECT_EQ(compile_400({"*.example.com"}, {"10.0.0.0/8"}), kAllTrafficMessage);
  EXPECT_EQ(compile_400({"*"}, {"0.0.0.1/1", "128.0.0.0/1"}), kAllTrafficMessage)
      << "the literal, not coverage";
  EXPECT_EQ(compile_400({"example.com"}, {}, true), kAllTrafficMessage)
      << "allow_internet_access false does not satisfy the check";
  EXPECT_EQ(compile_400({"1.2.3.4/33"}, {}), kAllTrafficMessage) << "not an address, so a domain";
  EXPECT_TRUE(EgressRules::compile({"example.com"}, {"8.8.8.8", "0.0.0.0/0"}, false));
  EXPECT_TRUE(EgressRules::compile({"1.1.1.1", "2001:db8::/32"}, {}, false)) << "addresses need nothing";
}

// ---------------------------------------------------------------------------------------------------------------
// The decision (§4 step 3)

TEST(Decide, NoRulesAllowsEverything) {
  const Verdict verdict = decide(EgressRules(), "example.com", ip(8, 8, 8, 8));
  EXPECT_TRUE(verdict.allowed);
  EXPECT_EQ(verdict.rule, "default");
  EXPECT_TRUE(decide(EgressRules(), "", 0).allowed);
}

TEST(Decide, TheUpstreamNetworkTests) {
  // deny-all + allow 1.1.1.1: 1.1.1.1 answers, 8.8.8.8 fails.
  const EgressRules only_one = compiled({"1.1.1.1"}, {"0.0.0.0/0"});
  const Verdict one = decide(only_one, "", ip(1, 1, 1, 1));
  EXPECT_TRUE(one.allowed);
  EXPECT_EQ(one.rule, "allowOut \"1.1.1.1/32\"");
  const Verdict eight = decide(only_one, "", ip(8, 8, 8, 8));
  EXPECT_FALSE(eight.allowed);
  EXPECT_EQ(eight.rule, "denyOut \"0.0.0.0/0\"");

  // deny 8.8.8.8: 8.8.8.8 fails, 1.1.1.1 works.
  const EgressRules deny_eight = compiled({}, {"8.8.8.8"});
  EXPECT_FALSE(decide(deny_eight, "", ip(8, 8, 8, 8)).allowed);
  EXPECT_EQ(decide(deny_eight, "", ip(8, 8, 8, 8)).rule, "denyOut \"8.8.8.8/32\"");
  EXPECT_TRUE(decide(deny_eight, "", ip(1, 1, 1, 1)).allowed);
  EXPECT_EQ(decide(deny_eight, "", ip(1, 1, 1, 1)).rule, "default");

  // deny-all + allow both: both work.
  const EgressRules both = compiled({"1.1.1.1", "8.8.8.8"}, {"0.0.0.0/0"});
  EXPECT_TRUE(decide(both, "", ip(1, 1, 1, 1)).allowed);
  EXPECT_TRUE(decide(both, "", ip(8, 8, 8, 8)).allowed);
  EXPECT_FALSE(decide(both, "", ip(9, 9, 9, 9)).allowed);
}

TEST(Decide, AllowBeatsDeny) {
  const EgressRules rules = compiled({"8.8.8.0/24"}, {"8.8.8.8", "8.0.0.0/8"});
  const Verdict inside = decide(rules, "", ip(8, 8, 8, 8));
  EXPECT_TRUE(inside.allowed);
  EXPECT_EQ(inside.rule, "allowOut \"8.8.8.0/24\"");
  const Verdict outside = decide(rules, "", ip(8, 8, 9, 1));
  EXPECT_FALSE(outside.allowed);
  EXPECT_EQ(outside.rule, "denyOut \"8.0.0.0/8\"");
}

TEST(Decide, DomainsDecideOnlyWhenAHostnameWasSeen) {
  const EgressRules rules = compiled({"*.example.com", "api.example.net", "1.1.1.1"}, {"0.0.0.0/0"});
  const std::uint32_t somewhere = ip(93, 184, 216, 34);

  const Verdict sub = decide(rules, "api.example.com", somewhere);
  EXPECT_TRUE(sub.allowed);
  EXPECT_EQ(sub.rule, "allowOut \"*.example.com\"");
  EXPECT_TRUE(decide(rules, "A.B.EXAMPLE.COM.", somewhere).allowed);
  const Verdict exact = decide(rules, "API.example.net", somewhere);
  EXPECT_TRUE(exact.allowed);
  EXPECT_EQ(exact.rule, "allowOut \"api.example.net\"");

  EXPECT_FALSE(decide(rules, "example.com", somewhere).allowed) << "the apex is not covered by *.example.com";
  EXPECT_FALSE(decide(rules, "example.net", somewhere).allowed);
  EXPECT_FALSE(decide(rules, "evil.com", somewhere).allowed);
  const Verdict blind = decide(rules, "", somewhere);
  EXPECT_FALSE(blind.allowed) << "no Host/SNI: only addresses decide";
  EXPECT_EQ(blind.rule, "denyOut \"0.0.0.0/0\"");
  // A hostname that matches nothing still lets the address decide.
  const Verdict by_address = decide(rules, "evil.com", ip(1, 1, 1, 1));
  EXPECT_TRUE(by_address.allowed);
  EXPECT_EQ(by_address.rule, "allowOut \"1.1.1.1/32\"");
}

TEST(Decide, StarAllowsEveryInspectedHostname) {
  const EgressRules rules = compiled({"*"}, {"0.0.0.0/0"});
  const Verdict named = decide(rules, "anything.example", ip(8, 8, 8, 8));
  EXPECT_TRUE(named.allowed);
  EXPECT_EQ(named.rule, "allowOut \"*\"");
  EXPECT_FALSE(decide(rules, "", ip(8, 8, 8, 8)).allowed) << "an uninspected port is still denied";
}

TEST(Decide, AllowInternetAccessFalseDeniesEverythingButAllowOut) {
  const EgressRules rules = compiled({"1.1.1.1"}, {}, true);
  EXPECT_TRUE(rules.deny_all_internet());
  EXPECT_TRUE(rules.deny_cidrs().empty()) << "denyOut stays as given";
  EXPECT_TRUE(decide(rules, "", ip(1, 1, 1, 1)).allowed);
  const Verdict denied = decide(rules, "", ip(8, 8, 8, 8));
  EXPECT_FALSE(denied.allowed);
  EXPECT_EQ(denied.rule, "allow_internet_access false");
  EXPECT_FALSE(decide(compiled({}, {"8.8.8.8"}, true), "", ip(9, 9, 9, 9)).allowed);
  EXPECT_FALSE(decide(compiled({}, {}, true), "", 0xffffffff).allowed);
}

// ---------------------------------------------------------------------------------------------------------------
// Create (§3, §11)

TEST(CreateNetwork, TheSpecsWireExample) {
  auto config =
      create(R"({"allowOut":["api.example.com","*.example.org","1.1.1.1"],"denyOut":["0.0.0.0/0"],)"
             R"("allowPublicTraffic":false,"maskRequestHost":"localhost:${PORT}","httpsPorts":[3000]})");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_FALSE(config->allow_internet_access);
  EXPECT_FALSE(config->ingress.allow_public_traffic);
  EXPECT_EQ(config->ingress.mask_request_host, "localhost:${PORT}");
  EXPECT_EQ(config->ingress.https_ports, (std::vector<std::uint16_t>{3000}));
  EXPECT_EQ(config->egress.allow_cidrs(), (std::vector<Cidr4>{{ip(1, 1, 1, 1), 32}}));
  EXPECT_EQ(config->egress.allow_domains().size(), 2u);
  EXPECT_FALSE(config->egress.deny_all_internet());
  // GET /sandboxes/isbx1's `network`, field for field.
  EXPECT_EQ(json::serialize(network_info_json(*config)),
            R"({"allowPublicTraffic":false,"maskRequestHost":"localhost:${PORT}","httpsPorts":[3000],)"
            R"("allowOut":["api.example.com","*.example.org","1.1.1.1"],"denyOut":["0.0.0.0/0"]})");

  EXPECT_EQ(create_400(R"({"allowOut":["api.example.com"]})"), kAllTrafficMessage);
}

TEST(CreateNetwork, AbsentOrNullNetwork) {
  auto absent = parse_create_network(nullptr, std::nullopt);
  ASSERT_TRUE(absent);
  EXPECT_TRUE(absent->egress.empty());
  EXPECT_TRUE(absent->ingress.allow_public_traffic);
  EXPECT_FALSE(absent->allow_internet_access);
  EXPECT_EQ(json::serialize(network_info_json(*absent)), R"({"allowPublicTraffic":true})");

  const json::value null_value(nullptr);
  auto closed = parse_create_network(&null_value, false);
  ASSERT_TRUE(closed);
  EXPECT_TRUE(closed->egress.deny_all_internet());
  EXPECT_EQ(closed->allow_internet_access, false);
  EXPECT_EQ(json::serialize(network_info_json(*closed)), R"({"allowPublicTraffic":true})")
      << "the deny-all from allow_internet_access is not shown as denyOut";

  auto open = parse_create_network(nullptr, true);
  ASSERT_TRUE(open);
  EXPECT_FALSE(open->egress.deny_all_internet());
  EXPECT_EQ(open->allow_internet_access, true);
}

TEST(CreateNetwork, AllowInternetAccessFalseWithAllowOut) {
  auto config = create(R"({"allowOut":["1.1.1.1"]})", false);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(decide(config->egress, "", ip(1, 1, 1, 1)).allowed);
  EXPECT_FALSE(decide(config->egress, "", ip(8, 8, 8, 8)).allowed);
  EXPECT_EQ(json::serialize(network_info_json(*config)),
            R"({"allowPublicTraffic":true,"allowOut":["1.1.1.1"]})");
  EXPECT_EQ(error_of(create(R"({"allowOut":["example.com"]})", false)).message, kAllTrafficMessage);
}

TEST(CreateNetwork, NullsUnknownKeysAndEmptyRulesAreFine) {
  auto config = create(
      R"({"allowOut":null,"denyOut":null,"allowPublicTraffic":null,"maskRequestHost":null,"httpsPorts":null,)"
      R"("rules":{},"egressProxy":null,"somethingNew":{"x":[1,2]},"iam":7})");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(*config, NetworkConfig());
  EXPECT_TRUE(create("{}"));
  EXPECT_TRUE(create(R"({"rules":null})"));
}

TEST(CreateNetwork, WrongTypesNameTheField) {
  EXPECT_EQ(create_400("[]"), "network must be an object");
  EXPECT_EQ(create_400(R"("allow")"), "network must be an object");
  EXPECT_EQ(create_400("5"), "network must be an object");
  EXPECT_EQ(create_400("true"), "network must be an object");
  EXPECT_EQ(create_400(R"({"allowOut":"1.1.1.1"})"), "network.allowOut must be an array of strings");
  EXPECT_EQ(create_400(R"({"allowOut":{"a":"1.1.1.1"}})"), "network.allowOut must be an array of strings");
  EXPECT_EQ(create_400(R"({"allowOut":[1]})"), "network.allowOut[0] must be a string");
  EXPECT_EQ(create_400(R"({"allowOut":["1.1.1.1",null]})"), "network.allowOut[1] must be a string");
  EXPECT_EQ(create_400(R"({"denyOut":[["8.8.8.8"]]})"), "network.denyOut[0] must be a string");
  EXPECT_EQ(create_400(R"({"denyOut":true})"), "network.denyOut must be an array of strings");
  EXPECT_EQ(create_400(R"({"allowPublicTraffic":"false"})"),
            "network.allowPublicTraffic must be true or false");
  EXPECT_EQ(create_400(R"({"allowPublicTraffic":0})"), "network.allowPublicTraffic must be true or false");
  EXPECT_EQ(create_400(R"({"maskRequestHost":5})"), "network.maskRequestHost must be a string");
  EXPECT_EQ(create_400(R"({"rules":[]})"), "network.rules must be an object");
  EXPECT_EQ(create_400(R"({"httpsPorts":3000})"), "network.httpsPorts must be an array of port numbers");
}

TEST(CreateNetwork, ValidationMessages) {
  EXPECT_EQ(create_400(R"({"denyOut":["example.com"]})"), "invalid denied CIDR example.com");
  EXPECT_EQ(create_400(R"({"denyOut":["0.0.0.0/8"]})"), "invalid denied CIDR 0.0.0.0/8");
  EXPECT_EQ(create_400(R"({"allowOut":["::"]})"), "invalid allowed address ::");
  EXPECT_EQ(create_400(R"({"allowOut":["*.example.com"],"denyOut":["8.8.8.8"]})"), kAllTrafficMessage);
}

TEST(CreateNetwork, MaskRequestHost) {
  for (std::string_view good : {"localhost:${PORT}", "custom-host.example.com:${PORT}", "example.com",
                                "Example.COM:8080", "localhost", "a.b-c.d:", "xn--bcher-kva.de"}) {
    auto config = create(R"({"maskRequestHost":")" + std::string(good) + R"("})");
    ASSERT_TRUE(config) << good << ": " << config.error().message;
    EXPECT_EQ(config->ingress.mask_request_host, good);
  }
  for (std::string_view bad : {"a:b:c", "[::1]:80", "[::1]", "my_host:80", "-bad.com", "bad-.com",
                               "ab--cd.com", "host name", "${PORT}", "host]:80", "[host:80"}) {
    EXPECT_EQ(create_400(R"({"maskRequestHost":")" + std::string(bad) + R"("})"),
              "mask request host is not valid: " + std::string(bad));
  }
  EXPECT_EQ(create_400(R"({"maskRequestHost":"bücher.de:${PORT}"})"),
            "mask request host 'bücher.de' is not ASCII. Please use ASCII characters only.");
  // E2B checks maskRequestHost before the lists.
  EXPECT_EQ(create_400(R"({"maskRequestHost":"a:b:c","denyOut":["x"]})"),
            "mask request host is not valid: a:b:c");
}

TEST(CreateNetwork, HttpsPorts) {
  auto config = create(R"({"httpsPorts":[3000,8443,1,65535]})");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->ingress.https_ports, (std::vector<std::uint16_t>{3000, 8443, 1, 65535}));
  for (std::string_view bad :
       {"0", "65536", "-1", R"("3000")", "3000.0", "true", "null", "18446744073709551615"}) {
    EXPECT_EQ(create_400(R"({"httpsPorts":[443,)" + std::string(bad) + "]}"),
              "network.httpsPorts[1] must be a port number from 1 to 65535")
        << bad;
  }
  EXPECT_EQ(create_400(R"({"httpsPorts":[49983]})"),
            "network.httpsPorts cannot include 49983: it is the envd port, which is always plain HTTP");
}

TEST(CreateNetwork, RulesAndEgressProxyAreRefused) {
  EXPECT_EQ(create_400(R"({"allowOut":["api.openai.com"],"denyOut":["0.0.0.0/0"],)"
                       R"("rules":{"api.openai.com":[{"transform":{"headers":{"A":"b"}}}]}})"),
            "Network transform rules are not available for your team.");
  const Error proxy = error_of(create(R"({"egressProxy":{"address":"1.2.3.4:1080"}})"));
  EXPECT_EQ(proxy.code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(proxy.message, "Egress proxy (network.egressProxy) is not enabled for this team.");
  EXPECT_EQ(error_of(create(R"({"egressProxy":"socks5://x"})")).code, ErrorCode::kPermissionDenied);
}

// ---------------------------------------------------------------------------------------------------------------
// Update (§5, §11)

TEST(NetworkUpdate, ReplacesTheEgressConfigFromTheBodyAlone) {
  auto created = create(R"({"allowOut":["1.1.1.1"],"allowPublicTraffic":false,"httpsPorts":[3000]})", false);
  ASSERT_TRUE(created) << created.error().message;
  NetworkConfig config = *created;
  EXPECT_FALSE(decide(config.egress, "", ip(8, 8, 8, 8)).allowed);

  // updateNetwork({}) after deny-all + allow 1.1.1.1 reopens everything; the stored flag stays.
  auto cleared = update("{}");
  ASSERT_TRUE(cleared) << cleared.error().message;
  EXPECT_FALSE(cleared->allow_internet_access);
  apply_update(config, *cleared);
  EXPECT_TRUE(config.egress.empty());
  EXPECT_TRUE(decide(config.egress, "", ip(1, 1, 1, 1)).allowed);
  EXPECT_TRUE(decide(config.egress, "", ip(8, 8, 8, 8)).allowed);
  EXPECT_EQ(config.allow_internet_access, false) << "GET still shows the last value given";
  EXPECT_FALSE(config.ingress.allow_public_traffic) << "ingress is create-only";
  EXPECT_EQ(config.ingress.https_ports, (std::vector<std::uint16_t>{3000}));

  // Deny 8.8.8.8 via update: the next connection fails.
  auto deny = update(R"({"denyOut":["8.8.8.8"]})");
  ASSERT_TRUE(deny);
  apply_update(config, *deny);
  EXPECT_FALSE(decide(config.egress, "", ip(8, 8, 8, 8)).allowed);
  EXPECT_EQ(config.egress.deny_out(), (std::vector<std::string>{"8.8.8.8"}));

  auto open = update(R"({"allow_internet_access":true})");
  ASSERT_TRUE(open);
  EXPECT_EQ(open->allow_internet_access, true);
  apply_update(config, *open);
  EXPECT_EQ(config.allow_internet_access, true);
  EXPECT_TRUE(config.egress.deny_out().empty()) << "the omitted denyOut is cleared";

  auto closed = update(R"({"allow_internet_access":false,"allowOut":["1.1.1.1"]})");
  ASSERT_TRUE(closed);
  EXPECT_EQ(closed->allow_internet_access, false);
  EXPECT_TRUE(closed->egress.deny_all_internet());
  EXPECT_TRUE(decide(closed->egress, "", ip(1, 1, 1, 1)).allowed);
  EXPECT_FALSE(decide(closed->egress, "", ip(8, 8, 8, 8)).allowed);
}

TEST(NetworkUpdate, TheSpecsWireExampleAndItsMessages) {
  auto plain = update(R"({"allowOut":["api.openai.com"],"denyOut":["0.0.0.0/0"]})");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_TRUE(decide(plain->egress, "api.openai.com", ip(1, 2, 3, 4)).allowed);
  EXPECT_FALSE(decide(plain->egress, "", ip(1, 2, 3, 4)).allowed);
  EXPECT_EQ(update_400(R"({"allowOut":["api.openai.com"],"denyOut":["0.0.0.0/0"],)"
                       R"("rules":{"api.openai.com":[{"transform":{"headers":{"Authorization":"Bearer )"
                       R"(${e2b.secrets.openai-key}"}}}]}})"),
            "Network transform rules are not available for your team.");
  EXPECT_TRUE(update(R"({"rules":{}})"));
  EXPECT_EQ(update_400(R"({"denyOut":["example.com"]})"), "invalid denied CIDR example.com");
  EXPECT_EQ(update_400(R"({"allowOut":["0.0.0.0"]})"), "invalid allowed address 0.0.0.0");
  EXPECT_EQ(update_400(R"({"allowOut":["example.com"],"allow_internet_access":false})"), kAllTrafficMessage);
  const Error proxy = error_of(update(R"({"egressProxy":{"address":"proxy.example.com:1080"}})"));
  EXPECT_EQ(proxy.code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(proxy.message, "Egress proxy (egressProxy) is not enabled for this team.");
  EXPECT_TRUE(update(R"({"egressProxy":null})"));
}

TEST(NetworkUpdate, IngressFieldsAndUnknownKeysAreIgnored) {
  auto body =
      update(R"({"allowPublicTraffic":"not even a bool","httpsPorts":[49983],"maskRequestHost":7,"x":1})");
  ASSERT_TRUE(body) << body.error().message;
  EXPECT_TRUE(body->egress.empty());
  EXPECT_FALSE(body->allow_internet_access);
}

TEST(NetworkUpdate, Garbage) {
  EXPECT_EQ(update_400("[]"), "the request body must be a JSON object");
  EXPECT_EQ(update_400("null"), "the request body must be a JSON object");
  EXPECT_EQ(update_400(R"("{}")"), "the request body must be a JSON object");
  EXPECT_EQ(update_400(R"({"allowOut":"1.1.1.1"})"), "allowOut must be an array of strings");
  EXPECT_EQ(update_400(R"({"denyOut":[8]})"), "denyOut[0] must be a string");
  EXPECT_EQ(update_400(R"({"allow_internet_access":"no"})"), "allow_internet_access must be true or false");
  EXPECT_EQ(update_400(R"({"rules":"none"})"), "rules must be an object");
}

// ---------------------------------------------------------------------------------------------------------------
// Storage

TEST(StoredConfig, WritesEveryFieldAndReadsItBack) {
  auto created =
      create(R"({"allowOut":["api.example.com","*.example.org","1.1.1.1"],"denyOut":["0.0.0.0/0"],)"
             R"("allowPublicTraffic":false,"maskRequestHost":"localhost:${PORT}","httpsPorts":[3000]})");
  ASSERT_TRUE(created);
  const std::string text = to_json(*created);
  EXPECT_EQ(text, R"({"allowOut":["api.example.com","*.example.org","1.1.1.1"],"denyOut":["0.0.0.0/0"],)"
                  R"("denyAllInternet":false,"allowInternetAccess":null,"allowPublicTraffic":false,)"
                  R"("maskRequestHost":"localhost:${PORT}","httpsPorts":[3000]})");
  auto back = from_json(text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, *created);

  NetworkConfig updated = *created;
  updated.allow_internet_access = false;
  apply_update(updated, *update(R"({"allowOut":["2001:db8::1","8.8.8.8"]})"));
  for (const NetworkConfig& config : {NetworkConfig(), *parse_create_network(nullptr, false), updated}) {
    auto round = from_json(to_json(config));
    ASSERT_TRUE(round) << to_json(config) << ": " << round.error().message;
    EXPECT_EQ(*round, config) << to_json(config);
  }
  EXPECT_EQ(to_json(NetworkConfig()),
            R"({"allowOut":[],"denyOut":[],"denyAllInternet":false,"allowInternetAccess":null,)"
            R"("allowPublicTraffic":true,"maskRequestHost":null,"httpsPorts":[]})");
}

TEST(StoredConfig, AnythingElseIsADamagedStore) {
  const std::string good = to_json(NetworkConfig());
  auto with = [&](std::string_view from, std::string_view to) {
    std::string text = good;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  for (const std::string& bad :
       {std::string(""), std::string("nope"), std::string("[]"), std::string("{}"), std::string("null"),
        good.substr(0, good.size() - 1), with("\"httpsPorts\":[]", "\"httpsPorts\":[],\"extra\":1"),
        with(",\"httpsPorts\":[]", ""), with("\"allowOut\":[]", "\"allowOut\":[1]"),
        with("\"allowOut\":[]", "\"allowOut\":\"x\""),
        with("\"denyOut\":[]", "\"denyOut\":[\"example.com\"]"),
        with("\"allowOut\":[]", "\"allowOut\":[\"example.com\"]"),
        with("\"denyAllInternet\":false", "\"denyAllInternet\":null"),
        with("\"allowInternetAccess\":null", "\"allowInternetAccess\":1"),
        with("\"allowPublicTraffic\":true", "\"allowPublicTraffic\":\"true\""),
        with("\"maskRequestHost\":null", "\"maskRequestHost\":[]"),
        with("\"httpsPorts\":[]", "\"httpsPorts\":[0]"), with("\"httpsPorts\":[]", "\"httpsPorts\":[49983]"),
        with("\"httpsPorts\":[]", "\"httpsPorts\":{}")}) {
    auto parsed = from_json(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInternal) << bad;
    EXPECT_TRUE(parsed.error().message.starts_with("stored network config is damaged: "))
        << parsed.error().message;
  }
  EXPECT_EQ(from_json(with("\"denyOut\":[]", "\"denyOut\":[\"x\"]")).error().message,
            "stored network config is damaged: invalid denied CIDR x");
}

}  // namespace
}  // namespace cellblock::net
