#include "agent/envd/envd_service.h"

#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <fstream>

#include <boost/json.hpp>

#include "common/agent_protocol.h"
#include "common/encoding.h"

namespace cellblock::agent {
namespace {

namespace json = boost::json;

// CPU usage between two calls, from /proc/stat's aggregate line.
double cpu_used_percent() {
  static std::uint64_t last_busy = 0;
  static std::uint64_t last_total = 0;
  std::ifstream stat("/proc/stat");
  std::string cpu;
  std::uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  std::uint64_t busy = user + nice + system + irq + softirq + steal;
  std::uint64_t total = busy + idle + iowait;
  double percent = 0;
  if (total > last_total)
    percent = 100.0 * static_cast<double>(busy - last_busy) / static_cast<double>(total - last_total);
  last_busy = busy;
  last_total = total;
  return percent;
}

// A plain function: struct sysinfo has a flexible array member, which may not live in a coroutine frame.
json::object collect_metrics() {
  struct sysinfo info {};
  ::sysinfo(&info);
  const std::uint64_t unit = info.mem_unit;
  const std::uint64_t mem_total = info.totalram * unit;
  const std::uint64_t mem_used = (info.totalram - info.freeram - info.bufferram) * unit;
  struct statvfs disk {};
  ::statvfs("/", &disk);
  json::object out;
  out["ts"] = static_cast<std::int64_t>(::time(nullptr));
  out["cpu_count"] = static_cast<std::int64_t>(::sysconf(_SC_NPROCESSORS_ONLN));
  out["cpu_used_pct"] = cpu_used_percent();
  out["mem_used"] = mem_used;
  out["mem_total"] = mem_total;
  out["mem_used_mib"] = mem_used >> 20;
  out["mem_total_mib"] = mem_total >> 20;
  out["mem_cache"] = static_cast<std::uint64_t>(info.bufferram) * unit;
  out["disk_used"] = static_cast<std::uint64_t>(disk.f_blocks - disk.f_bfree) * disk.f_frsize;
  out["disk_total"] = static_cast<std::uint64_t>(disk.f_blocks) * disk.f_frsize;
  return out;
}

// "/<package>.<Service>/<Method>": answered in Connect's error format even when unknown.
bool looks_like_rpc(std::string_view path) {
  if (path.size() < 4 || path[0] != '/') return false;
  auto slash = path.find('/', 1);
  if (slash == std::string_view::npos || path.find('/', slash + 1) != std::string_view::npos) return false;
  return path.substr(1, slash - 1).find('.') != std::string_view::npos && slash + 1 < path.size();
}

struct InitRequest {
  std::optional<std::map<std::string, std::string>> env_vars;
  std::optional<std::string> access_token;
  std::optional<std::optional<std::int64_t>> deadline;  // absent; null (lifted); unix ms
};

Result<InitRequest> parse_init(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return fail(ErrorCode::kInvalidArgument, "init: expected a JSON object");
  InitRequest init;
  for (const auto& [key, field] : value.get_object()) {
    if (key == "envVars") {
      if (!field.is_object()) return fail(ErrorCode::kInvalidArgument, "init: envVars must be an object");
      std::map<std::string, std::string> env;
      for (const auto& [name, v] : field.get_object()) {
        if (!v.is_string()) return fail(ErrorCode::kInvalidArgument, "init: envVars values must be strings");
        env[std::string(name)] = std::string(v.get_string());
      }
      init.env_vars = std::move(env);
    } else if (key == "accessToken") {
      if (!field.is_string() || field.get_string().empty()) {
        return fail(ErrorCode::kInvalidArgument, "init: accessToken must be a non-empty string");
      }
      init.access_token = std::string(field.get_string());
    } else if (key == agent_protocol::kDeadlineField) {
      if (field.is_null()) {
        init.deadline.emplace(std::nullopt);
      } else if (field.is_int64() && field.get_int64() > 0) {
        init.deadline.emplace(field.get_int64());
      } else {
        return fail(ErrorCode::kInvalidArgument, "init: deadline must be unix milliseconds or null");
      }
    }
    // Other fields of E2B's /init (timestamp, defaultUser, …) are accepted and ignored.
  }
  return init;
}

}  // namespace

EnvdService::EnvdService(asio::any_io_executor executor, AccessPolicy& access, const AgentUsers& users,
                         std::map<std::string, std::string> sandbox_env, EnvListener on_env_change,
                         DeadlineListener on_deadline)
    : access_(access),
      on_env_change_(std::move(on_env_change)),
      on_deadline_(std::move(on_deadline)),
      processes_(executor),
      watchers_(executor),
      files_(access, users),
      process_rpc_(processes_, users),
      filesystem_rpc_(watchers_, users) {
  processes_.set_sandbox_env(std::move(sandbox_env));
}

EnvdService::~EnvdService() {
  stop();
}

void EnvdService::stop() {
  processes_.stop();
  watchers_.stop();
}

asio::awaitable<void> EnvdService::handle(http::Request& request, http::BodyReader& body,
                                          http::ResponseWriter& writer) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/health") {
    http::Response response;
    response.status = 204;
    co_await writer.send(std::move(response));
    co_return;
  }
  if (path == "/files") {
    if (method == "GET") {
      co_await files_.download(request, writer);
    } else if (method == "POST") {
      co_await files_.upload(request, body, writer);
    } else {
      co_await writer.send(http::error_response(ErrorCode::kMethodNotAllowed, "use GET or POST /files"));
    }
    co_return;
  }
  if (path == agent_protocol::kInitPath && method == "POST") {
    co_await init(request, body, writer);
    co_return;
  }
  if (auto allowed = access_.check_token(request); !allowed) {
    co_await writer.send(http::error_response(allowed.error()));
    co_return;
  }
  constexpr std::string_view kProcess = "/process.Process/";
  constexpr std::string_view kFilesystem = "/filesystem.Filesystem/";
  if (path.starts_with(kProcess) || path.starts_with(kFilesystem)) {
    if (method != "POST") {
      co_await send_rpc_error(writer, ErrorCode::kMethodNotAllowed, "Connect RPCs use POST");
    } else if (path.starts_with(kProcess)) {
      co_await process_rpc_.serve(std::string_view(path).substr(kProcess.size()), request, body, writer);
    } else {
      co_await filesystem_rpc_.serve(std::string_view(path).substr(kFilesystem.size()), request, body,
                                     writer);
    }
    co_return;
  }
  if (looks_like_rpc(path) && method == "POST") {
    co_await send_rpc_error(writer, ErrorCode::kUnimplemented, "unknown service or method " + path.substr(1));
    co_return;
  }
  if (path == "/envs" && method == "GET") {
    json::object env;
    for (const auto& [key, value] : processes_.sandbox_env()) env[key] = value;
    co_await writer.send(http::json_response(200, json::serialize(env)));
    co_return;
  }
  if (path == "/metrics" && method == "GET") {
    co_await metrics(writer);
    co_return;
  }
  co_await writer.send(http::error_response(ErrorCode::kNotFound, "no route for " + method + " " + path));
}

// POST /init {envVars?, accessToken?, deadline?}: the server hands a pooled sandbox to its user. Reachable
// only through the sandbox's Unix socket (the server's proxy never forwards /init); once a token is set,
// /init needs it too.
asio::awaitable<void> EnvdService::init(http::Request& request, http::BodyReader& body,
                                        http::ResponseWriter& writer) {
  if (access_.has_token()) {
    if (auto allowed = access_.check_token(request); !allowed) {
      co_await writer.send(http::error_response(allowed.error()));
      co_return;
    }
  }
  auto text = co_await body.read_all(1024 * 1024);
  auto parsed = text ? parse_init(*text) : Result<InitRequest>(tl::unexpected(text.error()));
  if (!parsed) {
    co_await writer.send(http::error_response(parsed.error()));
    co_return;
  }
  if (parsed->env_vars) {
    processes_.set_sandbox_env(*parsed->env_vars);
    if (on_env_change_) on_env_change_(*parsed->env_vars);
  }
  if (parsed->access_token) access_.set_token(*parsed->access_token);
  if (parsed->deadline && on_deadline_) on_deadline_(*parsed->deadline);
  http::Response response;
  response.status = 204;
  co_await writer.send(std::move(response));
}

asio::awaitable<void> EnvdService::metrics(http::ResponseWriter& writer) {
  co_await writer.send(http::json_response(200, json::serialize(collect_metrics())));
}

}  // namespace cellblock::agent
