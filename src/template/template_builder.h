#pragma once
// Builds a template's root filesystem from a recipe with one mmdebstrap run:
//   FROM: `mmdebstrap --variant=apt <suite> <rootfs> <the host's Debian sources>`.
//   RUN:  a --customize-hook chroots into the new root and runs /bin/sh -c <command> with the ENV,
//         WORKDIR and USER in effect at that point (mmdebstrap has mounted /proc, /sys and /dev there and
//         copied the host's resolv.conf, so apt can fetch packages).
//   COPY: the files are staged in the scratch directory, then a hook streams them with tar into the root,
//         extracting inside the chroot so that symlinks already in the root resolve within it.
// mmdebstrap then removes apt's package lists and caches and unmounts everything. The builder removes them
// again (a RUN step may have re-created them), replaces the build host's hostname and resolver configuration
// with the sandbox's, and shifts the ownership of the whole tree into the sandbox id range. Needs root
// (mmdebstrap's root mode, chroot, lchown).

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "common/error.h"
#include "template/build_progress.h"
#include "template/ownership_shift.h"
#include "template/recipe_context.h"

namespace cellblock::templates {

struct BuilderOptions {
  std::vector<std::string> apt_sources;  // "deb <uri> <suite> main" lines; empty: read the host's (apt_dir)
  std::filesystem::path apt_dir = "/etc/apt";
  std::string mmdebstrap = "mmdebstrap";  // program name or path
  uid_t id_base = kSandboxIdBase;
  std::string hostname =
      "sandbox";  // written to /etc/hostname and /etc/hosts (the runtime's default hostname)
  const std::atomic<bool>* cancel = nullptr;  // set it (e.g. from a SIGINT handler) to stop the build
};

// What any builder does: create `rootfs` (which must not exist yet) from `recipe`, using `scratch` (an
// existing empty directory the caller removes afterwards) for intermediate files, reporting through
// `progress`.
using BuildFunction =
    std::function<Status(const RecipeContext& recipe, const std::filesystem::path& rootfs,
                         const std::filesystem::path& scratch, const ProgressCallback& progress)>;

class TemplateBuilder {
 public:
  explicit TemplateBuilder(BuilderOptions options = {});

  // On failure the error names the step (Cellfile line and instruction) and the last error line of the log;
  // the full log went through `progress`.
  Status build(const RecipeContext& recipe, const std::filesystem::path& rootfs,
               const std::filesystem::path& scratch, const ProgressCallback& progress) const;

  BuildFunction as_function() const;

 private:
  BuilderOptions options_;
};

// Quotes `text` for a POSIX shell ('...' with embedded quotes escaped).
std::string shell_quote(std::string_view text);

}  // namespace cellblock::templates
