#include "net/address_pool.h"

#include <charconv>

namespace cellblock::net {

namespace {
constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
}

Result<AddressPool> AddressPool::create(Cidr4 subnet, std::string prefix) {
  if (subnet.prefix < 8 || subnet.prefix > 30) {
    return fail(ErrorCode::kInvalidArgument, "the sandbox subnet " + subnet.to_string() +
                                                 " must be a /8 to /30 (two addresses a sandbox)");
  }
  const std::size_t pairs = std::size_t{1} << (31 - subnet.prefix);
  if (prefix.size() + std::to_string(pairs - 1).size() > kMaxInterfaceName) {
    return fail(ErrorCode::kInvalidArgument,
                "interface prefix '" + prefix + "' is too long for " + std::to_string(pairs) + " sandboxes");
  }
  subnet.address &= subnet.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - subnet.prefix);
  return AddressPool(subnet, std::move(prefix), pairs);
}

AddressPool::AddressPool(Cidr4 subnet, std::string prefix, std::size_t pairs)
    : subnet_(subnet), prefix_(std::move(prefix)), leased_(pairs, false) {}

Lease AddressPool::lease_of(std::uint32_t index) const {
  Lease lease;
  lease.index = index;
  lease.interface = prefix_ + std::to_string(index);
  lease.host_address = subnet_.address + 2 * index;
  lease.sandbox_address = lease.host_address + 1;
  return lease;
}

Result<Lease> AddressPool::acquire() {
  for (std::uint32_t i = 0; i < leased_.size(); ++i) {
    if (!leased_[i]) {
      leased_[i] = true;
      return lease_of(i);
    }
  }
  return fail(ErrorCode::kResourceExhausted, "every address of the sandbox subnet " + subnet_.to_string() +
                                                 " is in use: choose a larger --sandbox-subnet");
}

std::optional<std::uint32_t> AddressPool::index_of(const std::string& interface) const {
  if (interface.size() <= prefix_.size() || interface.compare(0, prefix_.size(), prefix_) != 0)
    return std::nullopt;
  std::uint32_t index = 0;
  const char* end = interface.data() + interface.size();
  auto parsed = std::from_chars(interface.data() + prefix_.size(), end, index);
  // The canonical spelling only ("cb-07" is not pair 7's interface).
  if (parsed.ec != std::errc() || parsed.ptr != end || index >= leased_.size() ||
      interface != lease_of(index).interface) {
    return std::nullopt;
  }
  return index;
}

Result<Lease> AddressPool::adopt(const std::string& interface) {
  auto index = index_of(interface);
  if (!index) {
    return fail(ErrorCode::kInvalidArgument,
                "interface '" + interface + "' is not one of this server's (" + prefix_ + "<n>)");
  }
  if (leased_[*index])
    return fail(ErrorCode::kAlreadyExists, "interface '" + interface + "' is leased twice");
  leased_[*index] = true;
  return lease_of(*index);
}

void AddressPool::release(const std::string& interface) {
  if (auto index = index_of(interface)) leased_[*index] = false;
}

}  // namespace cellblock::net
