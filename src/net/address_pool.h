#pragma once
// Hands out the sandboxes' point-to-point links: pair i of the server's subnet is the host side
// (base + 2i) and the sandbox side (base + 2i + 1) of a /31, on the host interface "<prefix><i>". The lowest
// free pair goes first, so names and addresses stay short and reused.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.h"
#include "net/egress_rules.h"

namespace cellblock::net {

struct Lease {
  std::uint32_t index = 0;
  std::string interface;
  std::uint32_t host_address = 0;
  std::uint32_t sandbox_address = 0;
};

class AddressPool {
 public:
  // `subnet`: /8 to /30; `prefix`: the interface names' start (the index follows, within 15 characters).
  static Result<AddressPool> create(Cidr4 subnet, std::string prefix);

  // kResourceExhausted when every pair is leased.
  Result<Lease> acquire();
  // The lease a running sandbox already holds (after a restart), by its host interface; an interface that is
  // not one of this pool's, or one leased twice, is an error.
  Result<Lease> adopt(const std::string& interface);
  // Frees the pair of the interface; one not leased, or not this pool's, is ignored.
  void release(const std::string& interface);

  std::size_t capacity() const { return leased_.size(); }

 private:
  AddressPool(Cidr4 subnet, std::string prefix, std::size_t pairs);
  Lease lease_of(std::uint32_t index) const;
  std::optional<std::uint32_t> index_of(const std::string& interface) const;

  Cidr4 subnet_;
  std::string prefix_;
  std::vector<bool> leased_;
};

}  // namespace cellblock::net
