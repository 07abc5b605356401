#include "agent/interpreter/request_parsing.h"

#include <boost/json.hpp>

#include "agent/interpreter/context_registry.h"

namespace cellblock::interpreter {
namespace {

namespace json = boost::json;

Result<json::object> parse_object(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, std::string(what) + ": invalid JSON: " + ec.message());
  if (!value.is_object())
    return fail(ErrorCode::kInvalidArgument, std::string(what) + ": expected a JSON object");
  return std::move(value.as_object());
}

Status reject_unknown(const json::object& object, std::initializer_list<std::string_view> known,
                      std::string_view what) {
  for (const auto& [key, value] : object) {
    bool ok = false;
    for (auto name : known) ok = ok || key == name;
    if (!ok)
      return fail(ErrorCode::kInvalidArgument,
                  std::string(what) + ": unknown field '" + std::string(key) + "'");
  }
  return {};
}

// A string field; absent or null gives nullopt, another type is an error.
Result<std::optional<std::string>> optional_string(const json::object& object, std::string_view name) {
  auto it = object.find(name);
  if (it == object.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) {
    return fail(ErrorCode::kInvalidArgument, "field '" + std::string(name) + "' must be a string");
  }
  return std::optional<std::string>(std::string(it->value().get_string()));
}

Result<std::string> language_of(const std::optional<std::string>& requested) {
  auto language = normalize_language(requested.value_or("python"));
  if (!language) {
    return fail(ErrorCode::kInvalidArgument,
                "language '" + *requested + "' is not available in this sandbox (available: python)");
  }
  return *language;
}

std::string python_string(std::string_view text) {
  return json::serialize(json::value(json::string(text)));
}

std::string python_name_list(const std::map<std::string, std::string>& env_vars) {
  std::string out = "[";
  for (const auto& [name, value] : env_vars) {
    if (out.size() > 1) out += ", ";
    out += python_string(name);
  }
  return out + "]";
}

}  // namespace

Result<ExecuteRequest> parse_execute(std::string_view body) {
  auto object = parse_object(body, "execute request");
  if (!object) return tl::unexpected(object.error());
  if (auto ok = reject_unknown(*object, {"code", "context_id", "language", "env_vars"}, "execute request");
      !ok) {
    return tl::unexpected(ok.error());
  }
  ExecuteRequest request;
  auto code = optional_string(*object, "code");
  if (!code) return tl::unexpected(code.error());
  if (!*code) return fail(ErrorCode::kInvalidArgument, "execute request: field 'code' is required");
  request.code = std::move(**code);
  auto context_id = optional_string(*object, "context_id");
  if (!context_id) return tl::unexpected(context_id.error());
  auto language = optional_string(*object, "language");
  if (!language) return tl::unexpected(language.error());
  if (*context_id && *language) {
    return fail(ErrorCode::kInvalidArgument, "Only one of context_id or language can be provided");
  }
  request.context_id = std::move(*context_id);
  auto normalized = language_of(*language);
  if (!normalized) return tl::unexpected(normalized.error());
  request.language = std::move(*normalized);
  if (auto it = object->find("env_vars"); it != object->end() && !it->value().is_null()) {
    if (!it->value().is_object()) {
      return fail(ErrorCode::kInvalidArgument, "field 'env_vars' must be an object of strings");
    }
    for (const auto& [name, value] : it->value().get_object()) {
      if (!value.is_string()) {
        return fail(ErrorCode::kInvalidArgument, "env_vars['" + std::string(name) + "'] must be a string");
      }
      if (name.empty() || name.find('=') != std::string_view::npos ||
          name.find('\0') != std::string_view::npos) {
        return fail(ErrorCode::kInvalidArgument,
                    "invalid environment variable name '" + std::string(name) + "'");
      }
      if (value.get_string().find('\0') != std::string_view::npos) {
        return fail(ErrorCode::kInvalidArgument, "env_vars['" + std::string(name) + "'] contains a NUL byte");
      }
      request.env_vars.emplace(std::string(name), std::string(value.get_string()));
    }
  }
  return request;
}

Result<CreateContextRequest> parse_create_context(std::string_view body) {
  CreateContextRequest request;
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) return request;
  auto object = parse_object(body, "context request");
  if (!object) return tl::unexpected(object.error());
  if (auto ok = reject_unknown(*object, {"language", "cwd"}, "context request"); !ok)
    return tl::unexpected(ok.error());
  auto language = optional_string(*object, "language");
  if (!language) return tl::unexpected(language.error());
  auto normalized = language_of(*language);
  if (!normalized) return tl::unexpected(normalized.error());
  request.language = std::move(*normalized);
  auto cwd = optional_string(*object, "cwd");
  if (!cwd) return tl::unexpected(cwd.error());
  if (*cwd) {
    if (!(*cwd)->starts_with('/')) {
      return fail(ErrorCode::kInvalidArgument, "cwd must be an absolute path, got '" + **cwd + "'");
    }
    request.cwd = std::move(**cwd);
  }
  return request;
}

// JSON string literals are valid Python string literals, so serialising through Boost.JSON escapes safely.
std::string set_env_code(const std::map<std::string, std::string>& env_vars) {
  json::object values;
  for (const auto& [name, value] : env_vars) values[name] = value;
  return "import os as _cellblock_os\n"
         "_cellblock_saved_env = {k: _cellblock_os.environ.get(k) for k in " +
         python_name_list(env_vars) +
         "}\n"
         "_cellblock_os.environ.update(" +
         json::serialize(values) + ")\n";
}

std::string apply_env_code(const std::map<std::string, std::string>& env) {
  json::object values;
  for (const auto& [name, value] : env) values[name] = value;
  return "import os as _cellblock_os\n_cellblock_os.environ.update(" + json::serialize(values) +
         ")\ndel _cellblock_os\n";
}

std::string restore_env_code() {
  return "_cellblock_k = _cellblock_v = None\n"
         "for _cellblock_k, _cellblock_v in _cellblock_saved_env.items():\n"
         "    if _cellblock_v is None:\n"
         "        _cellblock_os.environ.pop(_cellblock_k, None)\n"
         "    else:\n"
         "        _cellblock_os.environ[_cellblock_k] = _cellblock_v\n"
         "del _cellblock_saved_env, _cellblock_os, _cellblock_k, _cellblock_v\n";
}

}  // namespace cellblock::interpreter
