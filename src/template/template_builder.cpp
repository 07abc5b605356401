#include "template/template_builder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "template/apt_sources.h"
#include "template/command_runner.h"
#include "template/progress_tracker.h"

namespace cellblock::templates {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBuildPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::size_t kErrorContextLines = 40;

// ENV, WORKDIR and USER in effect at a point of the recipe.
struct StepContext {
  std::vector<std::pair<std::string, std::string>> env;
  std::string workdir = "/";
  std::string user;  // empty: root
  std::string group;

  void apply(const EnvStep& step) {
    for (const auto& [name, value] : step.variables) {
      auto it = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
      if (it == env.end()) {
        env.emplace_back(name, value);
      } else {
        it->second = value;
      }
    }
  }
};

std::string hook_header(int number, const Step& step) {
  return fmt::format("#!/bin/sh\n# Cellfile line {}: {}\nset -e\necho {}\n", step.line,
                     step.text.substr(0, step.text.find('\n')),
                     shell_quote(fmt::format("{}{}", kStepMarker, number)));
}

std::string run_hook(int number, const Step& step, const RunStep& run, const StepContext& context) {
  std::string script = hook_header(number, step);
  script += fmt::format("chroot \"$1\" /bin/mkdir -p {}\n", shell_quote(context.workdir));
  script += "exec chroot \"$1\" /usr/bin/env -i";
  std::vector<std::string> env = {fmt::format("PATH={}", kBuildPath), "HOME=/root", "LANG=C.UTF-8",
                                  "DEBIAN_FRONTEND=noninteractive"};
  for (const auto& [name, value] : context.env) env.push_back(name + "=" + value);
  for (const auto& assignment : env) script += " " + shell_quote(assignment);
  if (!context.user.empty() && context.user != "root") {
    // runuser sets HOME, USER and LOGNAME from the account, as Docker does for USER.
    script += " /usr/sbin/runuser -u " + shell_quote(context.user);
    if (!context.group.empty()) script += " -g " + shell_quote(context.group);
    script += " --";
  }
  script += fmt::format(" /bin/sh -c 'cd \"$1\" && exec /bin/sh -c \"$2\"' cellblock-run {} {}\n",
                        shell_quote(context.workdir), shell_quote(run.command));
  return script;
}

std::string copy_hook(int number, const Step& step, const fs::path& staging,
                      const std::string& destination_dir, const std::vector<std::string>& names) {
  std::string script = hook_header(number, step);
  script += fmt::format("chroot \"$1\" /bin/mkdir -p {}\n", shell_quote(destination_dir));
  if (names.empty()) return script;
  // Extract inside the chroot: symlinks already in the root (e.g. /lib -> usr/lib) must resolve within it.
  script += fmt::format("tar -C {} --numeric-owner -cf -", shell_quote(staging.string()));
  for (const auto& name : names) script += " " + shell_quote("./" + name);
  script += fmt::format(" | chroot \"$1\" /bin/tar -C {} --numeric-owner --keep-directory-symlink -xpf -\n",
                        shell_quote(destination_dir));
  return script;
}

Status stage_entry(const CopyEntry& entry, const fs::path& target) {
  std::error_code ec;
  switch (entry.kind) {
    case CopyEntry::Kind::kDirectory:
      fs::create_directories(target, ec);
      break;
    case CopyEntry::Kind::kFile:
      fs::copy_file(entry.absolute, target, fs::copy_options::overwrite_existing, ec);
      break;
    case CopyEntry::Kind::kSymlink:
      fs::create_symlink(entry.link_target, target, ec);
      break;
  }
  if (ec) return tl::unexpected(system_error("stage " + entry.absolute.string(), ec.value()));
  if (entry.kind != CopyEntry::Kind::kSymlink && ::chmod(target.c_str(), entry.mode) != 0) {
    return tl::unexpected(system_error("chmod " + target.string(), errno));
  }
  return {};
}

struct StagedCopy {
  std::string destination_dir;
  std::vector<std::string> names;  // top-level entries of the staging directory
};

// Lays the files of a COPY out in `staging` exactly as they must appear below the destination directory.
Result<StagedCopy> stage_copy(const RecipeContext& recipe, const CopyStep& copy, const fs::path& staging) {
  std::error_code ec;
  fs::create_directories(staging, ec);
  if (ec) return tl::unexpected(system_error("create " + staging.string(), ec.value()));
  ::chmod(staging.c_str(), 0755);

  const bool into_directory = copy.destination.size() > 1 && copy.destination.back() == '/';
  std::string destination = copy.destination;
  if (into_directory) destination.pop_back();
  StagedCopy staged{destination, {}};
  for (const auto& source : copy.sources) {
    auto path = resolve_copy_source(recipe, source);
    if (!path) return tl::unexpected(path.error());
    auto entries = list_copy_entries(*path);
    if (!entries) return tl::unexpected(entries.error());
    const bool source_is_directory = fs::is_directory(fs::symlink_status(*path, ec));
    for (const auto& entry : *entries) {
      fs::path relative = entry.relative;
      if (!source_is_directory && !into_directory) {
        // "COPY file /etc/name": the file gets the destination's name, in the destination's directory.
        relative = fs::path(destination).filename();
        staged.destination_dir = fs::path(destination).parent_path().string();
      }
      if (auto status = stage_entry(entry, staging / relative); !status)
        return tl::unexpected(status.error());
    }
  }
  for (const auto& entry : fs::directory_iterator(staging, ec))
    staged.names.push_back(entry.path().filename());
  std::sort(staged.names.begin(), staged.names.end());
  if (staged.destination_dir.empty()) staged.destination_dir = "/";
  return staged;
}

Status write_script(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return fail(ErrorCode::kInternal, fmt::format("cannot write {}", path.string()));
  if (::chmod(path.c_str(), 0755) != 0) return tl::unexpected(system_error("chmod " + path.string(), errno));
  return {};
}

// Writes one hook per RUN and COPY step into scratch/hooks; returns their paths in recipe order.
Result<std::vector<fs::path>> write_hooks(const RecipeContext& recipe, const fs::path& scratch) {
  const fs::path hooks = scratch / "hooks";
  std::error_code ec;
  fs::create_directories(hooks, ec);
  if (ec) return tl::unexpected(system_error("create " + hooks.string(), ec.value()));

  std::vector<fs::path> paths;
  StepContext context;
  const auto& steps = recipe.recipe.steps;
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const int number = static_cast<int>(i) + 1;
    const Step& step = steps[i];
    const fs::path hook = hooks / fmt::format("step-{:03}.sh", number);
    std::optional<std::string> script;
    if (const auto* env = std::get_if<EnvStep>(&step.action)) context.apply(*env);
    if (const auto* workdir = std::get_if<WorkdirStep>(&step.action)) context.workdir = workdir->path;
    if (const auto* user = std::get_if<UserStep>(&step.action)) {
      context.user = user->user;
      context.group = user->group;
    }
    if (const auto* run = std::get_if<RunStep>(&step.action)) script = run_hook(number, step, *run, context);
    if (const auto* copy = std::get_if<CopyStep>(&step.action)) {
      const fs::path staging = scratch / fmt::format("copy-{:03}", number);
      auto staged = stage_copy(recipe, *copy, staging);
      if (!staged) return tl::unexpected(staged.error());
      script = copy_hook(number, step, staging, staged->destination_dir, staged->names);
    }
    if (!script) continue;
    if (auto status = write_script(hook, *script); !status) return tl::unexpected(status.error());
    paths.push_back(hook);
  }
  return paths;
}

bool program_exists(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (!dir.empty() && ::access((fs::path(dir) / program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// `relative` below `root` if every component is a real directory (never a symlink that could lead out of it).
std::optional<fs::path> directory_in_root(const fs::path& root, const fs::path& relative) {
  fs::path current = root;
  std::error_code ec;
  for (const auto& part : relative) {
    current /= part;
    if (fs::symlink_status(current, ec).type() != fs::file_type::directory) return std::nullopt;
  }
  return current;
}

// Removes the regular files directly inside `dir` (all, or those with `extension`), keeping apt's lock file.
void remove_files_in(const std::optional<fs::path>& dir, std::string_view extension = {}) {
  if (!dir) return;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(*dir, ec)) {
    if (entry.is_symlink(ec) || !entry.is_regular_file(ec)) continue;
    if (entry.path().filename() == "lock") continue;
    if (!extension.empty() && entry.path().extension() != extension) continue;
    fs::remove(entry.path(), ec);
  }
}

// mmdebstrap already cleaned up; a RUN step may have run `apt-get update` again afterwards.
void remove_apt_caches(const fs::path& rootfs) {
  remove_files_in(directory_in_root(rootfs, "var/lib/apt/lists"));
  remove_files_in(directory_in_root(rootfs, "var/lib/apt/lists/partial"));
  remove_files_in(directory_in_root(rootfs, "var/cache/apt"), ".bin");
  remove_files_in(directory_in_root(rootfs, "var/cache/apt/archives"), ".deb");
  remove_files_in(directory_in_root(rootfs, "var/cache/apt/archives/partial"));
}

// Writes `content` to <rootfs>/<relative> with mode 0644, replacing whatever is there (never through a
// symlink).
Status write_root_file(const fs::path& rootfs, const fs::path& relative, std::string_view content) {
  const auto dir = directory_in_root(rootfs, relative.parent_path());
  if (!dir)
    return fail(ErrorCode::kInternal,
                fmt::format("/{} is not a directory in the new root", relative.parent_path().string()));
  const fs::path path = *dir / relative.filename();
  std::error_code ec;
  fs::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return fail(ErrorCode::kInternal, fmt::format("cannot write {}", path.string()));
  if (::chmod(path.c_str(), 0644) != 0) return tl::unexpected(system_error("chmod " + path.string(), errno));
  return {};
}

// mmdebstrap copies the build host's /etc/hostname and /etc/resolv.conf into the root (RUN steps need DNS); a
// template must not carry the build host's identity, so they are replaced by the sandbox's own. The runtime
// writes resolv.conf when it gives a sandbox network access.
Status write_sandbox_identity(const fs::path& rootfs, std::string_view hostname) {
  const std::string hosts = fmt::format(
      "127.0.0.1\tlocalhost\n127.0.1.1\t{}\n::1\tlocalhost ip6-localhost ip6-loopback\n", hostname);
  if (auto status = write_root_file(rootfs, "etc/hostname", fmt::format("{}\n", hostname)); !status)
    return status;
  if (auto status = write_root_file(rootfs, "etc/hosts", hosts); !status) return status;
  return write_root_file(rootfs, "etc/resolv.conf", "");
}

// The line that says what went wrong: the first "E:" line of the tool that failed (apt, dpkg), not
// mmdebstrap's own "E: setup failed" / "E: mmdebstrap failed to run" summary that follows it.
std::string first_error_line(const LogTail& tail) {
  const auto lines = tail.lines();
  for (const auto& line : lines) {
    if (!line.starts_with("E: ")) continue;
    if (line.starts_with("E: setup failed") || line.starts_with("E: mmdebstrap failed")) continue;
    return line;
  }
  return lines.empty() ? std::string{} : lines.back();
}

std::string describe_step(const Recipe& recipe, int step) {
  if (step < 1 || step > static_cast<int>(recipe.steps.size())) return "the build";
  const Step& s = recipe.steps[static_cast<std::size_t>(step - 1)];
  std::string text = s.text.size() > 100 ? s.text.substr(0, 100) + "..." : s.text;
  return fmt::format("step {}/{} (Cellfile line {}: {})", step, recipe.steps.size(), s.line, text);
}

}  // namespace

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  out += "'";
  return out;
}

TemplateBuilder::TemplateBuilder(BuilderOptions options) : options_(std::move(options)) {}

BuildFunction TemplateBuilder::as_function() const {
  return [builder = *this](const RecipeContext& recipe, const fs::path& rootfs, const fs::path& scratch,
                           const ProgressCallback& progress) {
    return builder.build(recipe, rootfs, scratch, progress);
  };
}

Status TemplateBuilder::build(const RecipeContext& recipe, const fs::path& rootfs, const fs::path& scratch,
                              const ProgressCallback& progress) const {
  if (::geteuid() != 0) {
    return fail(ErrorCode::kPermissionDenied,
                "building a template needs root (mmdebstrap --mode=root, chroot, "
                "lchown); run the build as root");
  }
  if (!program_exists(options_.mmdebstrap)) {
    return fail(ErrorCode::kNotFound,
                fmt::format("{} is not installed; install it with `apt-get install mmdebstrap`",
                            options_.mmdebstrap));
  }
  std::vector<std::string> sources = options_.apt_sources;
  if (sources.empty()) {
    auto host = host_debian_sources(recipe.recipe.base.suite, options_.apt_dir);
    if (!host) return tl::unexpected(host.error());
    sources = std::move(*host);
  }
  auto hooks = write_hooks(recipe, scratch);
  if (!hooks) return tl::unexpected(hooks.error());

  std::vector<std::string> argv = {
      options_.mmdebstrap, "--variant=apt", "--mode=root", "--format=directory",
      // RUN steps call apt inside the chroot; it must trust the archive there too.
      "--include=debian-archive-keyring", "--aptopt=Acquire::Retries \"3\""};
  for (const auto& hook : *hooks)
    argv.push_back("--customize-hook=" + shell_quote(hook.string()) + " \"$1\"");
  argv.push_back(recipe.recipe.base.suite);
  argv.push_back(rootfs.string());
  argv.insert(argv.end(), sources.begin(), sources.end());

  ProgressTracker tracker(recipe.recipe, progress);
  LogTail tail(kErrorContextLines);
  auto on_line = [&](std::string_view line) {
    if (!line.starts_with(kStepMarker)) tail.add(line);
    tracker.on_line(line);
  };
  CommandOptions command_options{{"LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}, options_.cancel};
  auto exit_code = run_command(argv, on_line, command_options);
  if (!exit_code) return tl::unexpected(exit_code.error());
  if (*exit_code != 0) {
    return fail(ErrorCode::kInternal, fmt::format("{} failed: mmdebstrap exited with status {}; error: {}",
                                                  describe_step(recipe.recipe, tracker.step()), *exit_code,
                                                  first_error_line(tail)));
  }

  tracker.finishing("removing apt package lists and caches");
  remove_apt_caches(rootfs);
  if (auto status = write_sandbox_identity(rootfs, options_.hostname); !status) return status;
  tracker.finishing(fmt::format("shifting ownership into the sandbox id range (+{})", options_.id_base));
  auto shifted = shift_tree_ownership(rootfs, options_.id_base);
  if (!shifted) return tl::unexpected(shifted.error());
  tracker.done();
  return {};
}

}  // namespace cellblock::templates
