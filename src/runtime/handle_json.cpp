#include "runtime/handle_json.h"

#include <climits>

#include <boost/json.hpp>

namespace cellblock::runtime {

namespace json = boost::json;

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
  return handle;
}

}  // namespace cellblock::runtime
