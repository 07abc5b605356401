#include "sandbox/snapshot_name.h"

#include <algorithm>
#include <cctype>

namespace cellblock::sandbox {
namespace {

bool name_chars(std::string_view text, bool dots) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [dots](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || (dots && c == '.');
  });
}

std::string trimmed_lower(std::string_view text) {
  auto first = text.find_first_not_of(" \t\r\n");
  auto last = text.find_last_not_of(" \t\r\n");
  std::string out = first == std::string_view::npos ? "" : std::string(text.substr(first, last - first + 1));
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

struct Parts {
  std::optional<std::string> ns;
  std::string name;
  std::optional<std::string> tag;
};

Parts split(std::string_view text) {
  Parts parts;
  if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    parts.tag = std::string(text.substr(colon + 1));
    text = text.substr(0, colon);
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    parts.ns = std::string(text.substr(0, slash));
    text = text.substr(slash + 1);
  }
  parts.name = std::string(text);
  return parts;
}

}  // namespace

Result<SnapshotName> parse_snapshot_name(std::string_view text) {
  const std::string normal = trimmed_lower(text);
  Parts parts = split(normal);
  if (parts.ns && !name_chars(*parts.ns, false)) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid namespace '" + *parts.ns + "': use a-z, 0-9, '-' and '_'");
  }
  if (parts.ns && *parts.ns != kTeamSlug) {
    return fail(ErrorCode::kInvalidArgument,
                "namespace '" + *parts.ns + "' must match your team '" + std::string(kTeamSlug) + "'");
  }
  if (!name_chars(parts.name, false)) {
    return fail(ErrorCode::kInvalidArgument,
                "invalid snapshot name '" + parts.name + "': use a-z, 0-9, '-' and '_'");
  }
  SnapshotName name;
  name.alias = std::move(parts.name);
  if (parts.tag) {
    if (!name_chars(*parts.tag, true)) {
      return fail(ErrorCode::kInvalidArgument,
                  "invalid tag '" + *parts.tag + "': use a-z, 0-9, '-', '_' and '.'");
    }
    name.tag = std::move(*parts.tag);
  }
  return name;
}

std::optional<TemplateRef> parse_template_ref(std::string_view text) {
  Parts parts = split(text);
  if (parts.ns && *parts.ns != kTeamSlug) return std::nullopt;
  if (parts.name.empty() || (parts.tag && parts.tag->empty())) return std::nullopt;
  return TemplateRef{std::move(parts.name), std::move(parts.tag)};
}

std::string snapshot_id(const store::SnapshotRecord& snapshot) {
  if (snapshot.alias.empty()) return snapshot.template_id + ":" + snapshot.tag;
  return std::string(kTeamSlug) + "/" + snapshot.alias + ":" + snapshot.tag;
}

std::vector<std::string> snapshot_names(const store::SnapshotRecord& snapshot) {
  if (snapshot.alias.empty()) return {};
  return {std::string(kTeamSlug) + "/" + snapshot.alias};
}

}  // namespace cellblock::sandbox
