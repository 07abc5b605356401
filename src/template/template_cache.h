#pragma once
// Built templates, cached by content hash: <cache_dir>/<name>-<hash16>/{rootfs/, template.json}. A template
// is built into <cache_dir>/.build-<name>-<hash16>-<pid>/ and renamed into place only once complete, so a
// failed or interrupted build never leaves a half template; leftovers of such builds are removed by the next
// build. Builds of one template are serialised with a lock file, so concurrent ensure() calls build once.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "common/error.h"
#include "template/build_progress.h"
#include "template/ownership_shift.h"
#include "template/template_builder.h"
#include "template/template_info.h"

namespace cellblock::templates {

inline constexpr std::string_view kDefaultCacheDir = "/var/cache/cellblock/templates";

// "<name>-<first 16 hex digits of hash>"
std::string template_key(std::string_view name, std::string_view hash);

class TemplateCache {
 public:
  // An empty `build` uses TemplateBuilder with the host's apt sources and `id_base`.
  explicit TemplateCache(std::filesystem::path cache_dir = std::filesystem::path(kDefaultCacheDir),
                         BuildFunction build = {}, uid_t id_base = kSandboxIdBase);

  // The template `name` built from the recipe at `recipe_path` (a Cellfile or its directory): the cached one
  // when its content hash is already built (cache_hit = true, no build, milliseconds), otherwise built now,
  // reporting through `progress`. Errors: kInvalidArgument (bad name or recipe), kNotFound (recipe or COPY
  // source missing), kCanceled, kPermissionDenied, kInternal (the build failed: the message names the step).
  Result<TemplateInfo> ensure(std::string_view name, const std::filesystem::path& recipe_path,
                              const ProgressCallback& progress = {});

  const std::filesystem::path& cache_dir() const { return cache_dir_; }

 private:
  Result<TemplateInfo> build_locked(const RecipeContext& recipe, TemplateInfo info,
                                    const ProgressCallback& progress);
  void remove_stale_builds(std::string_view key) const;

  std::filesystem::path cache_dir_;
  BuildFunction build_;
  uid_t id_base_;
};

}  // namespace cellblock::templates
