#pragma once
// A built template as the rest of cellblock sees it, and its `template.json` (written next to `rootfs/`).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"

namespace cellblock::templates {

struct TemplateInfo {
  std::string name;              // e.g. "code-interpreter"
  std::string hash;              // content hash, 64 hex digits
  std::filesystem::path dir;     // <cache_dir>/<name>-<hash16>
  std::filesystem::path rootfs;  // dir / "rootfs": the read-only lower layer of each sandbox
  std::vector<std::pair<std::string, std::string>> env;  // from ENV, in recipe order
  std::string workdir = "/";                             // last WORKDIR
  std::string user = "root";                             // last USER (name)
  std::string group;                                     // its ':group' part, if any
  std::uint32_t id_base = 0;  // host id of root inside (ownership shift applied to the tree)
  std::string built_at;       // RFC 3339
  double build_seconds = 0;
  std::uint64_t size_bytes = 0;  // disk usage of rootfs/ when built (0: not recorded, older templates)
  bool cache_hit = false;        // true when ensure() found it already built
};

inline constexpr std::string_view kTemplateJson = "template.json";

std::string template_json(const TemplateInfo& info);
// Parses template.json; dir and rootfs are set from `dir`.
Result<TemplateInfo> parse_template_json(std::string_view text, const std::filesystem::path& dir);

}  // namespace cellblock::templates
