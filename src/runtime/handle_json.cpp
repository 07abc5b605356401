#include "runtime/handle_json.h"

#include <arpa/inet.h>

#include <climits>

#include <boost/json.hpp>

namespace cellblock::runtime {

namespace json = boost::json;

namespace {

std::string dotted(std::uint32_t address) {
  in_addr network_order{htonl(address)};
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &network_order, text, sizeof text);
  return text;
}

}  // namespace

std::string to_json(const SandboxHandle& handle) {
  json::array cgroups;
  for (const auto& path : handle.cgroups) cgroups.emplace_back(path);
  json::object object{{"id", handle.id},
                      {"pid", static_cast<std::int64_t>(handle.pid)},
                      {"pid_start_time", handle.pid_start_time},
                      {"sandbox_dir", handle.sandbox_dir},
                      {"socket_path", handle.socket_path},
                      {"cgroups", std::move(cgroups)},
                      {"disk_fd", handle.disk_fd}};
  if (handle.network) {
    object["network"] = json::object{{"host_interface", handle.network->host_interface},
                                     {"host_address", dotted(handle.network->host_address)},
                                     {"sandbox_address", dotted(handle.network->sandbox_address)}};
  }
  return json::serialize(object);
}

namespace {

Result<std::string> string_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) {
    return fail(ErrorCode::kInvalidArgument, "sandbox handle: \"" + std::string(key) + "\" must be a string");
  }
  return std::string(value->get_string());
}

Result<std::uint64_t> unsigned_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value != nullptr && value->is_uint64()) return value->get_uint64();
  if (value != nullptr && value->is_int64() && value->get_int64() >= 0) {
    return static_cast<std::uint64_t>(value->get_int64());
  }
  return fail(ErrorCode::kInvalidArgument,
              "sandbox handle: \"" + std::string(key) + "\" must be a non-negative integer");
}

// Handles recorded before PID 1 kept the writable layer's descriptor have no "disk_fd": -1, none.
Result<int> optional_fd_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  if (value == nullptr) return -1;
  if (value->is_int64() && value->get_int64() >= -1 && value->get_int64() <= INT_MAX) {
    return static_cast<int>(value->get_int64());
  }
  if (value->is_uint64() && value->get_uint64() <= INT_MAX) return static_cast<int>(value->get_uint64());
  return fail(ErrorCode::kInvalidArgument,
              "sandbox handle: \"" + std::string(key) + "\" must be a descriptor number or -1");
}

Result<std::uint32_t> address_field(const json::object& object, std::string_view key) {
  const json::value* value = object.if_contains(key);
  in_addr address{};
  if (value == nullptr || !value->is_string() ||
      ::inet_pton(AF_INET, std::string(value->get_string()).c_str(), &address) != 1) {
    return fail(ErrorCode::kInvalidArgument,
                "sandbox handle: \"network\"." + std::string(key) + " must be a dotted IPv4 address");
  }
  return ntohl(address.s_addr);
}

// Handles recorded before sandboxes could have a network link have no "network": no link.
Result<std::optional<NetworkLinkHandle>> optional_network_field(const json::object& object) {
  const json::value* value = object.if_contains("network");
  if (value == nullptr || value->is_null()) return std::optional<NetworkLinkHandle>();
  if (!value->is_object()) {
    return fail(ErrorCode::kInvalidArgument, "sandbox handle: \"network\" must be an object");
  }
  const json::object& network = value->get_object();
  NetworkLinkHandle link;
  auto host_interface = string_field(network, "host_interface");
  if (!host_interface) return tl::unexpected(host_interface.error());
  link.host_interface = std::move(*host_interface);
  auto host_address = address_field(network, "host_address");
  if (!host_address) return tl::unexpected(host_address.error());
  link.host_address = *host_address;
  auto sandbox_address = address_field(network, "sandbox_address");
  if (!sandbox_address) return tl::unexpected(sandbox_address.error());
  link.sandbox_address = *sandbox_address;
  return std::optional<NetworkLinkHandle>(std::move(link));
}

}  // namespace

Result<SandboxHandle> handle_from_json(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "sandbox handle: not a JSON object");
  }
  const json::object& object = root.get_object();
  SandboxHandle handle;
  auto id = string_field(object, "id");
  if (!id) return tl::unexpected(id.error());
  handle.id = std::move(*id);
  auto pid = unsigned_field(object, "pid");
  if (!pid) return tl::unexpected(pid.error());
  if (*pid == 0 || *pid > 0x3fffffff) return fail(ErrorCode::kInvalidArgument, "sandbox handle: bad pid");
  handle.pid = static_cast<pid_t>(*pid);
  auto start_time = unsigned_field(object, "pid_start_time");
  if (!start_time) return tl::unexpected(start_time.error());
  handle.pid_start_time = *start_time;
  auto sandbox_dir = string_field(object, "sandbox_dir");
  if (!sandbox_dir) return tl::unexpected(sandbox_dir.error());
  handle.sandbox_dir = std::move(*sandbox_dir);
  auto socket_path = string_field(object, "socket_path");
  if (!socket_path) return tl::unexpected(socket_path.error());
  handle.socket_path = std::move(*socket_path);
  const json::value* cgroups = object.if_contains("cgroups");
  if (cgroups == nullptr || !cgroups->is_array()) {
    return fail(ErrorCode::kInvalidArgument, "sandbox handle: \"cgroups\" must be an array");
  }
  for (const auto& entry : cgroups->get_array()) {
    if (!entry.is_string())
      return fail(ErrorCode::kInvalidArgument, "sandbox handle: cgroup must be a string");
    handle.cgroups.emplace_back(entry.get_string());
  }
  auto disk_fd = optional_fd_field(object, "disk_fd");
  if (!disk_fd) return tl::unexpected(disk_fd.error());
  handle.disk_fd = *disk_fd;
  auto network = optional_network_field(object);
  if (!network) return tl::unexpected(network.error());
  handle.network = std::move(*network);
  return handle;
}

}  // namespace cellblock::runtime
