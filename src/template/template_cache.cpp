#include "template/template_cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "common/disk_usage.h"
#include "common/encoding.h"
#include "template/build_directory.h"
#include "template/content_hash.h"

namespace cellblock::templates {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kBuildPrefix = ".build-";

bool valid_template_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(std::islower(static_cast<unsigned char>(name.front())) ||
        std::isdigit(static_cast<unsigned char>(name.front())))) {
    return false;
  }
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::islower(u) || std::isdigit(u) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

// Holds an exclusive flock on a file for as long as it lives.
class FileLock {
 public:
  static Result<FileLock> acquire(const fs::path& path) {
    const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) return tl::unexpected(system_error("open " + path.string(), errno));
    while (::flock(fd, LOCK_EX) != 0) {
      if (errno != EINTR) {
        const int saved = errno;
        ::close(fd);
        return tl::unexpected(system_error("lock " + path.string(), saved));
      }
    }
    return FileLock(fd);
  }
  FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

std::optional<TemplateInfo> read_cached(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir / "rootfs", ec)) return std::nullopt;
  std::ifstream in(dir / kTemplateJson, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  auto info = parse_template_json(text.str(), dir);
  if (!info) return std::nullopt;
  info->cache_hit = true;
  return *info;
}

Status write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return fail(ErrorCode::kInternal, fmt::format("cannot write {}", path.string()));
  return {};
}

// Flushes the new tree to disk before it is published, so a crash cannot leave a complete-looking template
// whose files were never written.
void sync_file_system(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::syncfs(fd);
  ::close(fd);
}

bool process_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM);
}

void apply_recipe_settings(const Recipe& recipe, TemplateInfo& info) {
  for (const auto& step : recipe.steps) {
    if (const auto* env = std::get_if<EnvStep>(&step.action)) {
      for (const auto& [name, value] : env->variables) {
        auto it =
            std::find_if(info.env.begin(), info.env.end(), [&](const auto& kv) { return kv.first == name; });
        if (it == info.env.end()) {
          info.env.emplace_back(name, value);
        } else {
          it->second = value;
        }
      }
    } else if (const auto* workdir = std::get_if<WorkdirStep>(&step.action)) {
      info.workdir = workdir->path;
    } else if (const auto* user = std::get_if<UserStep>(&step.action)) {
      info.user = user->user;
      info.group = user->group;
    }
  }
}

}  // namespace

std::string template_key(std::string_view name, std::string_view hash) {
  return fmt::format("{}-{}", name, hash.substr(0, 16));
}

TemplateCache::TemplateCache(fs::path cache_dir, BuildFunction build, uid_t id_base)
    : cache_dir_(std::move(cache_dir)), build_(std::move(build)), id_base_(id_base) {
  if (!build_) {
    BuilderOptions options;
    options.id_base = id_base_;
    build_ = TemplateBuilder(std::move(options)).as_function();
  }
}

Result<TemplateInfo> TemplateCache::ensure(std::string_view name, const fs::path& recipe_path,
                                           const ProgressCallback& progress) {
  if (!valid_template_name(name)) {
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("invalid template name '{}' (use lowercase letters, digits, '-', '_' and '.')", name));
  }
  auto recipe = load_recipe(recipe_path);
  if (!recipe) return tl::unexpected(recipe.error());
  auto hash = content_hash(*recipe);
  if (!hash) return tl::unexpected(hash.error());

  TemplateInfo info;
  info.name = std::string(name);
  info.hash = *hash;
  info.dir = cache_dir_ / template_key(name, *hash);
  info.rootfs = info.dir / "rootfs";
  if (auto cached = read_cached(info.dir)) return *cached;

  std::error_code ec;
  fs::create_directories(cache_dir_, ec);
  if (ec) return tl::unexpected(system_error("create " + cache_dir_.string(), ec.value()));
  auto lock = FileLock::acquire(cache_dir_ / fmt::format(".{}.lock", template_key(name, *hash)));
  if (!lock) return tl::unexpected(lock.error());
  // Someone else may have built it while we waited for the lock.
  if (auto cached = read_cached(info.dir)) return *cached;
  return build_locked(*recipe, std::move(info), progress);
}

Result<TemplateInfo> TemplateCache::build_locked(const RecipeContext& recipe, TemplateInfo info,
                                                 const ProgressCallback& progress) {
  const std::string key = info.dir.filename().string();
  remove_stale_builds(key);
  // A directory here without a readable template.json is not a finished template: replace it.
  if (auto status = remove_build_tree(info.dir); !status) return tl::unexpected(status.error());

  const fs::path temp = cache_dir_ / fmt::format("{}{}-{}", kBuildPrefix, key, ::getpid());
  const fs::path scratch = temp / "scratch";
  std::error_code ec;
  fs::create_directories(scratch, ec);
  if (ec) return tl::unexpected(system_error("create " + scratch.string(), ec.value()));

  const auto started = std::chrono::steady_clock::now();
  auto cleanup_on_error = [&](Error error) -> Result<TemplateInfo> {
    (void)remove_build_tree(temp);
    return tl::unexpected(std::move(error));
  };
  if (auto built = build_(recipe, temp / "rootfs", scratch, progress); !built)
    return cleanup_on_error(built.error());
  if (auto removed = remove_build_tree(scratch); !removed) return cleanup_on_error(removed.error());

  apply_recipe_settings(recipe.recipe, info);
  info.id_base = id_base_;
  info.built_at = rfc3339_now();
  info.build_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  info.size_bytes = disk_usage(temp / "rootfs");
  if (auto written = write_file(temp / kTemplateJson, template_json(info)); !written) {
    return cleanup_on_error(written.error());
  }
  sync_file_system(temp);
  if (::rename(temp.c_str(), info.dir.c_str()) != 0)
    return cleanup_on_error(system_error("rename " + temp.string(), errno));
  return info;
}

void TemplateCache::remove_stale_builds(std::string_view key) const {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cache_dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(kBuildPrefix)) continue;
    const auto dash = name.rfind('-');
    pid_t pid = 0;
    std::from_chars(name.data() + dash + 1, name.data() + name.size(), pid);
    // Builds of this template are ours to clean (we hold its lock); others only once their builder is gone.
    const bool same_template = name.substr(kBuildPrefix.size(), dash - kBuildPrefix.size()) == key;
    if (same_template || !process_alive(pid)) (void)remove_build_tree(entry.path());
  }
}

}  // namespace cellblock::templates
