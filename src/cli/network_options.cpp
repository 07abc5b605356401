#include "cli/network_options.h"

#include <filesystem>

#include <fmt/format.h>

namespace cellblock::cli {

namespace {

// FNV-1a: stable across builds and releases, unlike std::hash.
std::uint32_t stable_hash(std::string_view text) {
  std::uint32_t hash = 2166136261u;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 16777619u;
  }
  return hash;
}

Result<std::vector<net::Cidr4>> cidr_list(const std::string& text, std::string_view flag) {
  std::vector<net::Cidr4> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view item =
        std::string_view(text).substr(start, comma == std::string::npos ? comma : comma - start);
    auto parsed = net::parse_cidr4(item);
    if (!parsed)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("{}: '{}' is not an IPv4 address or CIDR", flag, item));
    out.push_back(*parsed);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

Result<net::NetworkSettings> network_settings(const NetworkOptions& options, const std::string& state_dir) {
  std::error_code ec;
  auto canonical = std::filesystem::weakly_canonical(state_dir, ec);
  const std::uint32_t hash = stable_hash(ec ? state_dir : canonical.string());
  net::NetworkSettings settings;
  settings.instance = fmt::format("{:04x}", hash & 0xffff);
  if (options.subnet == "auto") {
    // One /20 (2048 sandboxes) of 100.96.0.0/11, inside the shared address space no LAN or public host uses.
    settings.subnet = {0x64600000u + ((hash >> 16) % 512) * 4096u, 20};
  } else {
    auto subnet = net::parse_cidr4(options.subnet);
    if (!subnet) return fail(ErrorCode::kInvalidArgument, "--sandbox-subnet: " + subnet.error().message);
    settings.subnet = *subnet;
  }
  if (options.dns == "none") {
    settings.resolvers = std::vector<std::uint32_t>{};
  } else if (options.dns != "host") {
    auto servers = cidr_list(options.dns, "--sandbox-dns");
    if (!servers) return tl::unexpected(servers.error());
    settings.resolvers.emplace();
    for (const auto& server : *servers) {
      if (server.prefix != 32)
        return fail(ErrorCode::kInvalidArgument, "--sandbox-dns takes addresses, not ranges");
      settings.resolvers->push_back(server.address);
    }
  }
  if (options.egress_within == "none") {
    settings.egress_within = std::vector<net::Cidr4>{};
  } else if (options.egress_within != "any") {
    auto within = cidr_list(options.egress_within, "--egress-within");
    if (!within) return tl::unexpected(within.error());
    settings.egress_within = std::move(*within);
  }
  if (!options.allow_private.empty()) {
    auto allowed = cidr_list(options.allow_private, "--allow-private");
    if (!allowed) return tl::unexpected(allowed.error());
    settings.allowed_private = std::move(*allowed);
  }
  return settings;
}

Result<std::unique_ptr<net::SandboxNetwork>> open_network(boost::asio::any_io_executor executor,
                                                          const NetworkOptions& options,
                                                          const std::string& state_dir) {
  auto settings = network_settings(options, state_dir);
  if (!settings) return tl::unexpected(settings.error());
  return net::SandboxNetwork::open(std::move(executor), std::move(*settings));
}

}  // namespace cellblock::cli
