#include "api/control_api.h"

#include <charconv>
#include <ctime>

#include <boost/json.hpp>

#include "common/encoding.h"
#include "store/metadata_filter.h"

namespace cellblock::api {
namespace {

namespace json = boost::json;
using http::Response;
constexpr std::string_view kEnvdVersion = "0.6.13";
constexpr std::size_t kMaxBody = 1024 * 1024;

Response json_reply(int status, const json::value& value) {
  return http::json_response(status, json::serialize(value));
}

Response no_content() {
  Response response;
  response.status = 204;
  return response;
}

// "2026-01-02T03:04:05[.fff…](Z|±hh:mm)" → unix ns.
Result<std::int64_t> parse_rfc3339(std::string_view text) {
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (text.size() < 20 || std::sscanf(std::string(text.substr(0, 19)).c_str(), "%4d-%2d-%2dT%2d:%2d:%2d",
                                      &year, &month, &day, &hour, &minute, &second) != 6) {
    return fail(ErrorCode::kInvalidArgument, "invalid RFC 3339 time '" + std::string(text) + "'");
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::int64_t nanos = static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000;
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest.front() == '.') {
    std::size_t digits = 1;
    std::int64_t fraction = 0;
    std::int64_t scale = 100'000'000;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') {
      fraction += (rest[digits] - '0') * scale;
      scale /= 10;
      ++digits;
    }
    nanos += fraction;
    rest.remove_prefix(digits);
  }
  if (rest == "Z" || rest == "z") return nanos;
  int offset_hours = 0, offset_minutes = 0;
  if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
      std::sscanf(std::string(rest.substr(1)).c_str(), "%2d:%2d", &offset_hours, &offset_minutes) == 2) {
    std::int64_t offset = (offset_hours * 3600 + offset_minutes * 60) * 1'000'000'000LL;
    return rest[0] == '+' ? nanos - offset : nanos + offset;
  }
  return fail(ErrorCode::kInvalidArgument, "invalid RFC 3339 time zone in '" + std::string(text) + "'");
}

Result<std::int64_t> parse_int(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " must be an integer");
  }
  return value;
}

Result<json::object> parse_body(std::string_view text, bool allow_empty) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    if (allow_empty) return json::object{};
    return fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  }
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "invalid JSON body: " + ec.message());
  if (!value.is_object()) return fail(ErrorCode::kInvalidArgument, "the request body must be a JSON object");
  return std::move(value.as_object());
}

Result<std::map<std::string, std::string>> string_map(const json::object& body, std::string_view field) {
  std::map<std::string, std::string> out;
  auto it = body.find(field);
  if (it == body.end() || it->value().is_null()) return out;
  if (!it->value().is_object()) {
    return fail(ErrorCode::kInvalidArgument, std::string(field) + " must be an object of strings");
  }
  for (const auto& [key, value] : it->value().get_object()) {
    if (!value.is_string()) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(field) + "['" + std::string(key) + "'] must be a string");
    }
    out[std::string(key)] = std::string(value.get_string());
  }
  return out;
}

Result<std::optional<std::int64_t>> optional_seconds(const json::object& body, std::string_view field) {
  auto it = body.find(field);
  if (it == body.end() || it->value().is_null()) return std::optional<std::int64_t>();
  if (!it->value().is_int64() && !it->value().is_uint64()) {
    return fail(ErrorCode::kInvalidArgument, std::string(field) + " must be an integer number of seconds");
  }
  return std::optional<std::int64_t>(it->value().to_number<std::int64_t>());
}

Status only_known(const json::object& body, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body) {
    bool ok = false;
    for (auto name : known) ok = ok || key == name;
    if (!ok) return fail(ErrorCode::kInvalidArgument, "unknown field '" + std::string(key) + "'");
  }
  return {};
}

json::value nullable(const std::string& text) {
  return text.empty() ? json::value(nullptr) : json::value(text);
}

json::object metadata_json(const std::map<std::string, std::string>& metadata) {
  json::object out;
  for (const auto& [key, value] : metadata) out[key] = value;
  return out;
}

// `Sandbox` (create and connect responses).
json::object sandbox_json(const store::SandboxRecord& record, const std::string& domain) {
  json::object out;
  out["sandboxID"] = record.id;
  out["templateID"] = record.template_id;
  if (!record.alias.empty()) out["alias"] = record.alias;
  out["clientID"] = record.client_id;
  out["envdVersion"] = kEnvdVersion;
  out["envdAccessToken"] = record.envd_access_token;
  out["trafficAccessToken"] = nullptr;
  out["domain"] = nullable(domain);
  return out;
}

// `ListedSandbox` (list items; `SandboxDetail` adds to it).
json::object listed_json(const store::SandboxRecord& record) {
  json::object item;
  item["sandboxID"] = record.id;
  item["templateID"] = record.template_id;
  if (!record.alias.empty()) item["alias"] = record.alias;
  item["clientID"] = record.client_id;
  item["cpuCount"] = record.cpu_count;
  item["memoryMB"] = record.memory_mb;
  item["diskSizeMB"] = record.disk_size_mb;
  item["startedAt"] = rfc3339(record.started_at);
  item["endAt"] = rfc3339(record.end_at);
  item["envdVersion"] = kEnvdVersion;
  item["state"] = record.state == store::SandboxState::kPaused ? "paused" : "running";
  item["metadata"] = metadata_json(record.metadata);
  return item;
}

asio::awaitable<void> send_error(http::ResponseWriter& writer, Error error) {
  co_await writer.send(http::error_response(error));
}

// Errors made in a handler go through (code, message): g++ 12 mishandles braced temporaries inside co_await.
asio::awaitable<void> reject(http::ResponseWriter& writer, ErrorCode code, std::string message) {
  co_await writer.send(http::error_response(code, std::move(message)));
}

}  // namespace

ControlApi::ControlApi(sandbox::SandboxManager& sandboxes, store::ApiKeyStore& keys, ApiSettings settings)
    : sandboxes_(sandboxes), keys_(keys), settings_(std::move(settings)) {}

asio::awaitable<void> ControlApi::handle(http::Request& request, http::BodyReader& body,
                                         http::ResponseWriter& writer) {
  auto key = request.header("X-API-KEY");
  if (!key) {
    co_await writer.send(http::error_response(ErrorCode::kUnauthenticated, "missing X-API-KEY header"));
    co_return;
  }
  if (auto verified = keys_.verify(*key); !verified) {
    co_await writer.send(http::error_response(ErrorCode::kUnauthenticated, "invalid API key"));
    co_return;
  }
  co_await route(request, body, writer);
}

asio::awaitable<void> ControlApi::route(http::Request& request, http::BodyReader& body,
                                        http::ResponseWriter& writer) {
  const std::string& method = request.method;
  std::string_view path = request.path;
  const bool v2 = path.starts_with("/v2/");
  if (v2) path.remove_prefix(3);
  if (path == "/sandboxes") {
    if (method == "POST") co_return co_await create(body, writer, !v2);
    if (method == "GET") co_return co_await list(request, writer, !v2);
  } else if (path == "/templates" && method == "GET" && !v2) {
    json::array out;
    for (const auto& entry : sandboxes_.templates()) {
      json::object item;
      item["templateID"] = entry.info.name;
      item["buildID"] = entry.info.hash.substr(0, 16);
      json::array aliases;
      aliases.push_back(json::string(entry.info.name));
      for (const auto& alias : entry.aliases) aliases.push_back(json::string(alias));
      item["aliases"] = std::move(aliases);
      item["public"] = true;
      item["buildStatus"] = "ready";
      item["envdVersion"] = kEnvdVersion;
      item["createdAt"] = entry.info.built_at;
      item["updatedAt"] = entry.info.built_at;
      out.push_back(std::move(item));
    }
    co_await writer.send(json_reply(200, out));
    co_return;
  } else if (path.starts_with("/sandboxes/")) {
    std::string_view rest = path.substr(std::string_view("/sandboxes/").size());
    std::string id(rest.substr(0, rest.find('/')));
    std::string_view action = rest.size() > id.size() ? rest.substr(id.size() + 1) : std::string_view{};
    if (action.empty() && !v2 && method == "GET") {
      auto record = sandboxes_.get(id);
      if (!record) {
        co_await writer.send(http::error_response(record.error()));
        co_return;
      }
      json::object detail = listed_json(*record);
      detail["envdAccessToken"] = record->envd_access_token;
      detail["domain"] = nullable(settings_.domain);
      detail["allowInternetAccess"] = false;
      json::object lifecycle;
      lifecycle["onTimeout"] = "kill";
      lifecycle["autoResume"] = false;
      detail["lifecycle"] = std::move(lifecycle);
      co_await writer.send(json_reply(200, detail));
      co_return;
    }
    if (action.empty() && !v2 && method == "DELETE") {
      std::string reason = "killed by the API";
      Status killed = co_await sandboxes_.kill(id, std::move(reason));
      Response response = killed ? no_content() : http::error_response(killed.error());
      co_await writer.send(std::move(response));
      co_return;
    }
    if (action == "timeout" && !v2 && method == "POST") co_return co_await set_timeout(id, body, writer);
    if (action == "connect" && method == "POST") co_return co_await connect(id, body, writer);
    if (action == "metrics" && !v2 && method == "GET") co_return co_await metrics(id, request, writer);
    if (action == "pause" && !v2 && method == "POST") {
      auto record = sandboxes_.get(id);
      Response response =
          record ? http::error_response(
                       ErrorCode::kUnimplemented,
                       "pausing is not supported yet: a sandbox runs until it is killed or times out")
                 : http::error_response(record.error());
      co_await writer.send(std::move(response));
      co_return;
    }
  }
  co_await writer.send(
      http::error_response(ErrorCode::kNotFound, "no route for " + method + " " + request.path));
}

asio::awaitable<void> ControlApi::create(http::BodyReader& body, http::ResponseWriter& writer, bool legacy) {
  auto text = co_await body.read_all(kMaxBody);
  if (!text) co_return co_await send_error(writer, text.error());
  auto parsed = parse_body(*text, false);
  if (!parsed) co_return co_await send_error(writer, parsed.error());
  const json::object& request = *parsed;
  if (auto ok = only_known(
          request, {"templateID", "timeout", "metadata", "envVars", "allow_internet_access", "secure",
                    "autoPause", "autoPauseMemory", "autoResume", "network", "mcp", "iam", "volumeMounts"});
      !ok) {
    co_return co_await send_error(writer, ok.error());
  }
  sandbox::CreateCommand command;
  auto template_id = request.find("templateID");
  if (template_id == request.end() || !template_id->value().is_string() ||
      template_id->value().get_string().empty()) {
    co_return co_await reject(writer, ErrorCode::kInvalidArgument, "templateID is required");
  }
  command.template_id = std::string(template_id->value().get_string());
  auto timeout = optional_seconds(request, "timeout");
  if (!timeout) co_return co_await send_error(writer, timeout.error());
  command.timeout_seconds = *timeout;
  if (legacy && !command.timeout_seconds) command.timeout_seconds = 300;
  auto metadata = string_map(request, "metadata");
  if (!metadata) co_return co_await send_error(writer, metadata.error());
  command.metadata = std::move(*metadata);
  auto env = string_map(request, "envVars");
  if (!env) co_return co_await send_error(writer, env.error());
  command.env_vars = std::move(*env);
  if (auto it = request.find("autoPause");
      it != request.end() && it->value().is_bool() && it->value().get_bool()) {
    co_return co_await reject(writer, ErrorCode::kInvalidArgument,
                              "autoPause is not supported yet: sandboxes are killed when they time out");
  }
  for (std::string_view unsupported : {"network", "mcp", "volumeMounts", "iam"}) {
    if (auto it = request.find(unsupported); it != request.end() && !it->value().is_null()) {
      co_return co_await reject(writer, ErrorCode::kInvalidArgument,
                                std::string(unsupported) + " is not supported by this server yet");
    }
  }
  auto record = co_await sandboxes_.create(std::move(command));
  if (!record) co_return co_await send_error(writer, record.error());
  json::object out = sandbox_json(*record, settings_.domain);
  co_await writer.send(json_reply(201, out));
}

asio::awaitable<void> ControlApi::list(const http::Request& request, http::ResponseWriter& writer,
                                       bool legacy) {
  store::ListQuery query;
  if (auto metadata = request.query_value("metadata")) {
    auto filter = store::parse_metadata_filter(*metadata);
    if (!filter) co_return co_await send_error(writer, filter.error());
    query.metadata = std::move(*filter);
  }
  if (auto states = request.query_value("state")) {
    query.states.clear();
    std::string_view rest = *states;
    while (!rest.empty()) {
      std::string_view name = rest.substr(0, rest.find(','));
      rest.remove_prefix(std::min(rest.size(), name.size() + 1));
      if (name == "running") {
        query.states.insert(store::SandboxState::kRunning);
      } else if (name == "paused") {
        query.states.insert(store::SandboxState::kPaused);
      } else {
        co_return co_await reject(writer, ErrorCode::kInvalidArgument,
                                  "unknown state '" + std::string(name) + "'");
      }
    }
  }
  if (auto after = request.query_value("startedAfter")) {
    auto nanos = parse_rfc3339(*after);
    if (!nanos) co_return co_await send_error(writer, nanos.error());
    query.started_after = *nanos;
  }
  if (auto template_name = request.query_value("template")) {
    if (template_name->find(':') != std::string_view::npos) {
      co_return co_await reject(writer, ErrorCode::kInvalidArgument,
                                "tagged template names are not supported");
    }
    query.template_id = std::string(*template_name);
  }
  if (auto order = request.query_value("order")) {
    if (*order == "asc") {
      query.order = store::SortOrder::kAscending;
    } else if (*order != "desc") {
      co_return co_await reject(writer, ErrorCode::kInvalidArgument, "order must be 'asc' or 'desc'");
    }
  }
  if (auto limit = request.query_value("limit")) {
    auto value = parse_int(*limit, "limit");
    if (!value) co_return co_await send_error(writer, value.error());
    if (*value < 1)
      co_return co_await reject(writer, ErrorCode::kInvalidArgument, "limit must be at least 1");
    query.limit = static_cast<int>(std::min<std::int64_t>(*value, store::SandboxStore::kMaxListLimit));
  }
  if (auto token = request.query_value("nextToken"); token && !legacy) query.cursor = std::string(*token);
  auto page = sandboxes_.list(query);
  if (!page) co_return co_await send_error(writer, page.error());
  json::array out;
  for (const auto& record : page->records) {
    out.push_back(listed_json(record));
  }
  Response response = json_reply(200, out);
  if (!page->next_cursor.empty() && !legacy) response.headers.add("X-Next-Token", page->next_cursor);
  co_await writer.send(std::move(response));
}

asio::awaitable<void> ControlApi::connect(const std::string& id, http::BodyReader& body,
                                          http::ResponseWriter& writer) {
  auto text = co_await body.read_all(kMaxBody);
  if (!text) co_return co_await send_error(writer, text.error());
  auto parsed = parse_body(*text, true);
  if (!parsed) co_return co_await send_error(writer, parsed.error());
  if (auto ok = only_known(*parsed, {"timeout", "memory"}); !ok)
    co_return co_await send_error(writer, ok.error());
  auto timeout = optional_seconds(*parsed, "timeout");
  if (!timeout) co_return co_await send_error(writer, timeout.error());
  auto record = sandboxes_.connect(id, *timeout);
  if (!record) co_return co_await send_error(writer, record.error());
  json::object out = sandbox_json(*record, settings_.domain);
  co_await writer.send(json_reply(200, out));
}

asio::awaitable<void> ControlApi::set_timeout(const std::string& id, http::BodyReader& body,
                                              http::ResponseWriter& writer) {
  auto text = co_await body.read_all(kMaxBody);
  if (!text) co_return co_await send_error(writer, text.error());
  auto parsed = parse_body(*text, false);
  if (!parsed) co_return co_await send_error(writer, parsed.error());
  if (auto ok = only_known(*parsed, {"timeout"}); !ok) co_return co_await send_error(writer, ok.error());
  auto timeout = optional_seconds(*parsed, "timeout");
  if (!timeout) co_return co_await send_error(writer, timeout.error());
  if (!*timeout) co_return co_await reject(writer, ErrorCode::kInvalidArgument, "timeout is required");
  if (auto ok = sandboxes_.set_timeout(id, **timeout); !ok) co_return co_await send_error(writer, ok.error());
  co_await writer.send(no_content());
}

asio::awaitable<void> ControlApi::metrics(const std::string& id, const http::Request& request,
                                          http::ResponseWriter& writer) {
  std::optional<std::int64_t> start, end;
  if (auto text = request.query_value("start")) {
    auto value = parse_int(*text, "start");
    if (!value) co_return co_await send_error(writer, value.error());
    start = *value;
  }
  if (auto text = request.query_value("end")) {
    auto value = parse_int(*text, "end");
    if (!value) co_return co_await send_error(writer, value.error());
    end = *value;
  }
  auto samples = sandboxes_.metrics(id, start, end);
  if (!samples) co_return co_await send_error(writer, samples.error());
  json::array out;
  for (const auto& metric : *samples) {
    json::object item;
    item["timestamp"] = rfc3339(metric.unix_nanos);
    item["timestampUnix"] = metric.unix_nanos / 1'000'000'000;
    item["cpuCount"] = metric.cpu_count;
    item["cpuUsedPct"] = metric.cpu_used_pct;
    item["memUsed"] = metric.mem_used;
    item["memTotal"] = metric.mem_total;
    item["memCache"] = 0;
    item["diskUsed"] = metric.disk_used;
    item["diskTotal"] = metric.disk_total;
    out.push_back(std::move(item));
  }
  co_await writer.send(json_reply(200, out));
}

}  // namespace cellblock::api
