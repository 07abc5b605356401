#include "template/template_info.h"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace cellblock::templates {

namespace json = boost::json;

std::string template_json(const TemplateInfo& info) {
  json::object env;
  for (const auto& [name, value] : info.env) env[name] = value;
  json::object root{
      {"format", 1},
      {"name", info.name},
      {"hash", info.hash},
      {"env", std::move(env)},
      {"workdir", info.workdir},
      {"user", info.user},
      {"group", info.group},
      {"id_base", info.id_base},
      {"built_at", info.built_at},
      {"build_seconds", info.build_seconds},
      {"size_bytes", info.size_bytes},
  };
  return json::serialize(root) + "\n";
}

Result<TemplateInfo> parse_template_json(std::string_view text, const std::filesystem::path& dir) {
  boost::system::error_code ec;
  const json::value value = json::parse(text, ec);
  const auto bad = [&](std::string_view what) {
    return fail(ErrorCode::kInternal, fmt::format("{}/{}: {}; delete the directory to rebuild the template",
                                                  dir.string(), kTemplateJson, what));
  };
  if (ec || !value.is_object()) return bad("not a JSON object");
  const auto& root = value.get_object();
  const auto string_field = [&](std::string_view key) -> std::string {
    const auto* field = root.if_contains(key);
    return field != nullptr && field->is_string() ? std::string(field->get_string()) : std::string{};
  };

  TemplateInfo info;
  info.name = string_field("name");
  info.hash = string_field("hash");
  if (info.name.empty() || info.hash.size() != 64) return bad("name or hash missing");
  info.dir = dir;
  info.rootfs = dir / "rootfs";
  info.workdir = string_field("workdir");
  info.user = string_field("user");
  info.group = string_field("group");
  info.built_at = string_field("built_at");
  if (const auto* env = root.if_contains("env"); env != nullptr && env->is_object()) {
    for (const auto& [name, v] : env->get_object()) {
      if (v.is_string()) info.env.emplace_back(std::string(name), std::string(v.get_string()));
    }
  }
  if (const auto* base = root.if_contains("id_base"); base != nullptr && base->is_number()) {
    info.id_base = base->to_number<std::uint32_t>(ec);
  }
  if (const auto* seconds = root.if_contains("build_seconds"); seconds != nullptr && seconds->is_number()) {
    info.build_seconds = seconds->to_number<double>(ec);
  }
  if (const auto* size = root.if_contains("size_bytes"); size != nullptr && size->is_number()) {
    info.size_bytes = size->to_number<std::uint64_t>(ec);
  }
  return info;
}

}  // namespace cellblock::templates
