#include "api/control_requests.h"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <initializer_list>

#include <boost/json.hpp>

#include "store/metadata_filter.h"

namespace cellblock::api {
namespace {

namespace json = boost::json;

Result<std::int64_t> parse_int(std::string_view text, std::string_view what) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return fail(ErrorCode::kInvalidArgument, std::string(what) + " must be an integer");
  }
  return value;
}

Result<json::object> parse_object(std::string_view text, bool allow_empty) {
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

Status only_known(const json::object& body, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : body) {
    bool ok = false;
    for (auto name : known) ok = ok || key == name;
    if (!ok) return fail(ErrorCode::kInvalidArgument, "unknown field '" + std::string(key) + "'");
  }
  return {};
}

const json::value* present(const json::object& body, std::string_view field) {
  const json::value* value = body.if_contains(field);
  return value == nullptr || value->is_null() ? nullptr : value;
}

Result<std::map<std::string, std::string>> string_map(const json::object& body, std::string_view field) {
  std::map<std::string, std::string> out;
  const json::value* value = present(body, field);
  if (!value) return out;
  if (!value->is_object())
    return fail(ErrorCode::kInvalidArgument, std::string(field) + " must be an object of strings");
  for (const auto& [key, item] : value->get_object()) {
    if (!item.is_string()) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(field) + "['" + std::string(key) + "'] must be a string");
    }
    out[std::string(key)] = std::string(item.get_string());
  }
  return out;
}

Result<std::optional<std::int64_t>> optional_seconds(const json::object& body, std::string_view field) {
  const json::value* value = present(body, field);
  if (!value) return std::optional<std::int64_t>();
  if (!value->is_int64() && !value->is_uint64()) {
    return fail(ErrorCode::kInvalidArgument, std::string(field) + " must be an integer number of seconds");
  }
  return std::optional<std::int64_t>(value->to_number<std::int64_t>());
}

Result<std::optional<bool>> optional_bool(const json::object& body, std::string_view field) {
  const json::value* value = present(body, field);
  if (!value) return std::optional<bool>();
  if (!value->is_bool())
    return fail(ErrorCode::kInvalidArgument, std::string(field) + " must be true or false");
  return std::optional<bool>(value->get_bool());
}

// E2B's lifecycle fields (e2b-lifecycle.md §2) with E2B's validation messages.
Result<store::LifecyclePolicy> parse_lifecycle(const json::object& body) {
  auto auto_pause = optional_bool(body, "autoPause");
  if (!auto_pause) return tl::unexpected(auto_pause.error());
  auto keep_memory = optional_bool(body, "autoPauseMemory");
  if (!keep_memory) return tl::unexpected(keep_memory.error());
  std::optional<bool> auto_resume;
  if (const json::value* resume = present(body, "autoResume")) {
    const json::object* object = resume->if_object();
    if (object == nullptr)
      return fail(ErrorCode::kInvalidArgument, "autoResume must be an object {\"enabled\": bool}");
    auto enabled = optional_bool(*object, "enabled");
    if (!enabled) return fail(ErrorCode::kInvalidArgument, "autoResume.enabled must be true or false");
    auto_resume = enabled->value_or(false);
  }
  store::LifecyclePolicy policy;
  policy.pause_on_timeout = auto_pause->value_or(false);
  policy.keep_memory = keep_memory->value_or(true);
  policy.auto_resume = auto_resume.value_or(false);
  if (!policy.keep_memory && !policy.pause_on_timeout) {
    return fail(ErrorCode::kInvalidArgument, "autoPauseMemory=false only applies when autoPause is true.");
  }
  if (!policy.keep_memory && policy.auto_resume) {
    return fail(ErrorCode::kInvalidArgument,
                "autoPauseMemory=false (filesystem-only auto-pause) cannot be combined with autoResume: a "
                "filesystem-only snapshot cannot be auto-resumed by traffic and must be resumed explicitly.");
  }
  return policy;
}

}  // namespace

Result<sandbox::CreateCommand> parse_create(std::string_view text, bool v1) {
  auto parsed = parse_object(text, false);
  if (!parsed) return tl::unexpected(parsed.error());
  const json::object& body = *parsed;
  if (auto ok = only_known(
          body, {"templateID", "timeout", "metadata", "envVars", "allow_internet_access", "secure",
                 "autoPause", "autoPauseMemory", "autoResume", "network", "mcp", "iam", "volumeMounts"});
      !ok) {
    return tl::unexpected(ok.error());
  }
  sandbox::CreateCommand command;
  const json::value* template_id = present(body, "templateID");
  if (!template_id || !template_id->is_string() || template_id->get_string().empty()) {
    return fail(ErrorCode::kInvalidArgument, "templateID is required");
  }
  command.template_id = std::string(template_id->get_string());
  auto timeout = optional_seconds(body, "timeout");
  if (!timeout) return tl::unexpected(timeout.error());
  command.timeout_seconds = *timeout;
  if (v1 && !command.timeout_seconds) command.timeout_seconds = 300;
  auto metadata = string_map(body, "metadata");
  if (!metadata) return tl::unexpected(metadata.error());
  command.metadata = std::move(*metadata);
  auto env = string_map(body, "envVars");
  if (!env) return tl::unexpected(env.error());
  command.env_vars = std::move(*env);
  auto lifecycle = parse_lifecycle(body);
  if (!lifecycle) return tl::unexpected(lifecycle.error());
  command.lifecycle = *lifecycle;
  auto allow_internet = optional_bool(body, "allow_internet_access");
  if (!allow_internet) return tl::unexpected(allow_internet.error());
  const json::value* network = present(body, "network");
  if (network || *allow_internet) {
    auto config = net::parse_create_network(network, *allow_internet);
    if (!config) return tl::unexpected(config.error());
    if (!config->ingress.https_ports.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "network.httpsPorts is not supported by this server yet: serve plain HTTP on those ports");
    }
    command.network = std::move(*config);
  }
  for (std::string_view unsupported : {"mcp", "volumeMounts", "iam"}) {
    if (present(body, unsupported)) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(unsupported) + " is not supported by this server yet");
    }
  }
  return command;
}

Result<net::NetworkUpdate> parse_update_network(std::string_view text) {
  auto parsed = parse_object(text, false);
  if (!parsed) return tl::unexpected(parsed.error());
  return net::parse_network_update(json::value(std::move(*parsed)));
}

Result<ConnectRequest> parse_connect(std::string_view text) {
  auto parsed = parse_object(text, true);
  if (!parsed) return tl::unexpected(parsed.error());
  if (auto ok = only_known(*parsed, {"timeout", "memory", "autoPause"}); !ok)
    return tl::unexpected(ok.error());
  ConnectRequest request;
  auto timeout = optional_seconds(*parsed, "timeout");
  if (!timeout) return tl::unexpected(timeout.error());
  request.timeout_seconds = *timeout;
  auto memory = optional_bool(*parsed, "memory");
  if (!memory) return tl::unexpected(memory.error());
  request.keep_memory = memory->value_or(true);
  return request;
}

Result<PauseRequest> parse_pause(std::string_view text) {
  auto parsed = parse_object(text, true);
  if (!parsed) return tl::unexpected(parsed.error());
  if (auto ok = only_known(*parsed, {"memory"}); !ok) return tl::unexpected(ok.error());
  auto memory = optional_bool(*parsed, "memory");
  if (!memory) return tl::unexpected(memory.error());
  return PauseRequest{memory->value_or(true)};
}

Result<std::int64_t> parse_set_timeout(std::string_view text) {
  auto parsed = parse_object(text, false);
  if (!parsed) return tl::unexpected(parsed.error());
  if (auto ok = only_known(*parsed, {"timeout"}); !ok) return tl::unexpected(ok.error());
  auto timeout = optional_seconds(*parsed, "timeout");
  if (!timeout) return tl::unexpected(timeout.error());
  if (!*timeout) return fail(ErrorCode::kInvalidArgument, "timeout is required");
  return **timeout;
}

Result<store::ListQuery> parse_list_query(const http::Request& request, bool v1) {
  store::ListQuery query;
  if (auto metadata = request.query_value("metadata")) {
    auto filter = store::parse_metadata_filter(*metadata);
    if (!filter) return tl::unexpected(filter.error());
    query.metadata = std::move(*filter);
  }
  if (auto states = request.query_value("state")) {
    query.states.clear();
    std::string_view rest = *states;
    while (!rest.empty()) {
      std::string_view name = rest.substr(0, rest.find(','));
      rest.remove_prefix(std::min(rest.size(), name.size() + 1));
      auto state = store::parse_sandbox_state(name);
      if (!state || *state == store::SandboxState::kKilled) {
        return fail(ErrorCode::kInvalidArgument, "unknown state '" + std::string(name) + "'");
      }
      query.states.insert(*state);
    }
  }
  if (auto after = request.query_value("startedAfter")) {
    auto nanos = parse_rfc3339(*after);
    if (!nanos) return tl::unexpected(nanos.error());
    query.started_after = *nanos;
  }
  if (auto template_name = request.query_value("template")) {
    if (template_name->find(':') != std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "tagged template names are not supported");
    }
    query.template_id = std::string(*template_name);
  }
  if (auto order = request.query_value("order")) {
    if (*order == "asc") {
      query.order = store::SortOrder::kAscending;
    } else if (*order != "desc") {
      return fail(ErrorCode::kInvalidArgument, "order must be 'asc' or 'desc'");
    }
  }
  if (auto limit = request.query_value("limit")) {
    auto value = parse_int(*limit, "limit");
    if (!value) return tl::unexpected(value.error());
    if (*value < 1) return fail(ErrorCode::kInvalidArgument, "limit must be at least 1");
    query.limit = static_cast<int>(std::min<std::int64_t>(*value, store::SandboxStore::kMaxListLimit));
  }
  if (auto token = request.query_value("nextToken"); token && !v1) query.cursor = std::string(*token);
  return query;
}

Result<std::optional<sandbox::SnapshotName>> parse_create_snapshot(std::string_view text) {
  auto parsed = parse_object(text, true);
  if (!parsed) return tl::unexpected(parsed.error());
  if (auto ok = only_known(*parsed, {"name"}); !ok) return tl::unexpected(ok.error());
  const json::value* name = parsed->if_contains("name");
  if (name == nullptr || name->is_null()) return std::optional<sandbox::SnapshotName>();
  if (!name->is_string()) return fail(ErrorCode::kInvalidArgument, "name must be a string");
  auto parsed_name = sandbox::parse_snapshot_name(name->get_string());
  if (!parsed_name) return tl::unexpected(parsed_name.error());
  return std::optional<sandbox::SnapshotName>(std::move(*parsed_name));
}

Result<store::SnapshotQuery> parse_snapshot_query(const http::Request& request) {
  store::SnapshotQuery query;
  if (auto sandbox_id = request.query_value("sandboxID")) query.sandbox_id = std::string(*sandbox_id);
  if (auto name = request.query_value("name"); name && !name->empty()) {
    if (auto ref = sandbox::parse_template_ref(*name)) {
      query.name = std::move(ref->name);
      query.tag = std::move(ref->tag);
    } else {
      query.name = std::string(*name);  // another team's: matches nothing
    }
  }
  if (auto limit = request.query_value("limit")) {
    auto value = parse_int(*limit, "limit");
    if (!value) return tl::unexpected(value.error());
    if (*value < 1 || *value > store::SnapshotStore::kMaxListLimit) {
      return fail(ErrorCode::kInvalidArgument, "limit must be between 1 and 100");
    }
    query.limit = static_cast<int>(*value);
  }
  if (auto token = request.query_value("nextToken")) query.cursor = std::string(*token);
  return query;
}

Result<MetricsRange> parse_metrics_query(const http::Request& request) {
  MetricsRange range;
  for (auto [name, bound] : {std::pair{"start", &range.start_unix}, std::pair{"end", &range.end_unix}}) {
    if (auto text = request.query_value(name)) {
      auto value = parse_int(*text, name);
      if (!value) return tl::unexpected(value.error());
      *bound = *value;
    }
  }
  return range;
}

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

}  // namespace cellblock::api
