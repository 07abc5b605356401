#include "template/template_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "common/disk_usage.h"

namespace cellblock::templates {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cellblock-cache-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

constexpr std::string_view kRecipe =
    "FROM debian:bookworm\n"
    "ENV LANG=C.UTF-8 A=1\n"
    "COPY files/ /opt/files/\n"
    "ENV A=2\n"
    "WORKDIR /home/user\n"
    "USER user\n";

// A stand-in for mmdebstrap: makes a tiny root and counts its calls. Only these tests use it.
struct FakeBuilder {
  int calls = 0;
  bool fail = false;
  fs::path last_rootfs;

  BuildFunction function() {
    return [this](const RecipeContext& recipe, const fs::path& rootfs, const fs::path& scratch,
                  const ProgressCallback& progress) -> Status {
      ++calls;
      last_rootfs = rootfs;
      EXPECT_TRUE(fs::is_directory(scratch));
      EXPECT_FALSE(fs::exists(rootfs));
      fs::create_directories(rootfs / "etc");
      std::ofstream(rootfs / "etc" / "os-release") << "ID=debian\n";
      if (progress)
        progress(BuildProgress{1, static_cast<int>(recipe.recipe.steps.size()), "fake", 50, "line"});
      if (fail) return fail_status();
      return {};
    };
  }
  static Status fail_status() { return cellblock::fail(ErrorCode::kInternal, "step 2/6 failed: E: broken"); }
};

class TemplateCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(recipe_.path() / "files");
    std::ofstream(recipe_.path() / "Cellfile") << kRecipe;
    std::ofstream(recipe_.path() / "files" / "a.txt") << "a\n";
  }

  TempDir recipe_;
  TempDir cache_;
  FakeBuilder builder_;
};

TEST_F(TemplateCacheTest, BuildsOnceThenHitsTheCacheWithoutBuilding) {
  TemplateCache cache(cache_.path(), builder_.function());
  int reports = 0;
  auto built = cache.ensure("code-interpreter", recipe_.path(), [&](const BuildProgress&) { ++reports; });
  ASSERT_TRUE(built.has_value()) << built.error().message;
  EXPECT_EQ(builder_.calls, 1);
  EXPECT_EQ(reports, 1);
  EXPECT_FALSE(built->cache_hit);
  EXPECT_EQ(built->dir, cache_.path() / template_key("code-interpreter", built->hash));
  EXPECT_EQ(built->dir.filename().string().size(), std::string("code-interpreter-").size() + 16);
  EXPECT_TRUE(fs::exists(built->rootfs / "etc" / "os-release"));
  EXPECT_FALSE(fs::exists(built->dir / "scratch"));

  // template.json carries what the runtime needs.
  const auto json = read(built->dir / "template.json");
  EXPECT_NE(json.find("\"workdir\":\"/home/user\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"user\":\"user\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"A\":\"2\""), std::string::npos) << json;
  EXPECT_NE(json.find(built->hash), std::string::npos) << json;
  EXPECT_NE(json.find("\"id_base\":100000"), std::string::npos) << json;
  EXPECT_EQ(built->size_bytes, disk_usage(built->rootfs));  // measured once, at build time
  EXPECT_GT(built->size_bytes, 0u);

  // Only the finished template is left in the cache directory (plus its lock file).
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(cache_.path())) {
    const auto name = entry.path().filename().string();
    EXPECT_TRUE(name == built->dir.filename() || name.ends_with(".lock")) << name;
    ++entries;
  }
  EXPECT_EQ(entries, 2);

  auto again = cache.ensure("code-interpreter", recipe_.path());
  ASSERT_TRUE(again.has_value()) << again.error().message;
  EXPECT_EQ(builder_.calls, 1);
  EXPECT_TRUE(again->cache_hit);
  EXPECT_EQ(again->dir, built->dir);
  EXPECT_EQ(again->env, (std::vector<std::pair<std::string, std::string>>{{"LANG", "C.UTF-8"}, {"A", "2"}}));
  EXPECT_EQ(again->workdir, "/home/user");
  EXPECT_EQ(again->user, "user");
  EXPECT_EQ(again->size_bytes, built->size_bytes);  // read back from template.json
}

TEST(DiskUsage, CountsBlocksOnceAndDoesNotFollowLinks) {
  TempDir dir;
  fs::create_directories(dir.path() / "sub");
  std::ofstream(dir.path() / "sub" / "data") << std::string(100 * 1024, 'x');
  const std::uint64_t one = disk_usage(dir.path());
  EXPECT_GE(one, 100u * 1024);
  fs::create_hard_link(dir.path() / "sub" / "data", dir.path() / "again");
  fs::create_directory_symlink(dir.path() / "sub", dir.path() / "loop");
  EXPECT_LT(disk_usage(dir.path()) - one, 8u * 1024)
      << "a hard link or a symlink must not count the data again";
  EXPECT_EQ(disk_usage(dir.path() / "missing"), 0u);
}

TEST(DiskUsage, HumanSizes) {
  EXPECT_EQ(human_size(0), "0 B");
  EXPECT_EQ(human_size(1023), "1023 B");
  EXPECT_EQ(human_size(1024), "1.0 KiB");
  EXPECT_EQ(human_size(1536 * 1024), "1.5 MiB");
  EXPECT_EQ(human_size(std::uint64_t{1932735283}), "1.8 GiB");
}

TEST_F(TemplateCacheTest, CacheHitNeverCallsTheBuilder) {
  // Populate with one cache, then use a second whose builder must not run.
  ASSERT_TRUE(TemplateCache(cache_.path(), builder_.function()).ensure("ci", recipe_.path()).has_value());
  FakeBuilder forbidden;
  TemplateCache cache(cache_.path(), forbidden.function());
  auto info = cache.ensure("ci", recipe_.path());
  ASSERT_TRUE(info.has_value()) << info.error().message;
  EXPECT_TRUE(info->cache_hit);
  EXPECT_EQ(forbidden.calls, 0);
}

TEST_F(TemplateCacheTest, ChangedCopySourceBuildsANewTemplate) {
  TemplateCache cache(cache_.path(), builder_.function());
  auto first = cache.ensure("ci", recipe_.path());
  ASSERT_TRUE(first.has_value());
  std::ofstream(recipe_.path() / "files" / "a.txt") << "changed\n";
  auto second = cache.ensure("ci", recipe_.path());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(builder_.calls, 2);
  EXPECT_NE(first->hash, second->hash);
  EXPECT_NE(first->dir, second->dir);
}

TEST_F(TemplateCacheTest, FailedBuildLeavesNothingBehind) {
  builder_.fail = true;
  TemplateCache cache(cache_.path(), builder_.function());
  auto info = cache.ensure("ci", recipe_.path());
  ASSERT_FALSE(info.has_value());
  EXPECT_NE(info.error().message.find("E: broken"), std::string::npos);
  EXPECT_FALSE(fs::exists(builder_.last_rootfs));
  for (const auto& entry : fs::directory_iterator(cache_.path())) {
    EXPECT_TRUE(entry.path().filename().string().ends_with(".lock")) << entry.path();
  }
  builder_.fail = false;
  auto retry = cache.ensure("ci", recipe_.path());
  ASSERT_TRUE(retry.has_value()) << retry.error().message;
  EXPECT_FALSE(retry->cache_hit);
}

TEST_F(TemplateCacheTest, RemovesStaleBuildDirectories) {
  TemplateCache cache(cache_.path(), builder_.function());
  // Leftovers of an interrupted build of this template, and of a dead builder of another one.
  fs::create_directories(cache_.path() / ".build-other-0123456789abcdef-999999999" / "rootfs");
  auto built = cache.ensure("ci", recipe_.path());
  ASSERT_TRUE(built.has_value());
  const auto own_stale = cache_.path() / (".build-" + built->dir.filename().string() + "-1");
  fs::create_directories(own_stale / "rootfs" / "etc");
  fs::remove_all(built->dir);  // force a rebuild
  ASSERT_TRUE(cache.ensure("ci", recipe_.path()).has_value());
  EXPECT_FALSE(fs::exists(own_stale));
  EXPECT_FALSE(fs::exists(cache_.path() / ".build-other-0123456789abcdef-999999999"));
}

TEST_F(TemplateCacheTest, RejectsBadNamesAndRecipes) {
  TemplateCache cache(cache_.path(), builder_.function());
  auto bad_name = cache.ensure("../escape", recipe_.path());
  ASSERT_FALSE(bad_name.has_value());
  EXPECT_EQ(bad_name.error().code, ErrorCode::kInvalidArgument);

  std::ofstream(recipe_.path() / "Cellfile") << "FROM debian:bookworm\nCMD [\"sh\"]\n";
  auto bad_recipe = cache.ensure("ci", recipe_.path());
  ASSERT_FALSE(bad_recipe.has_value());
  EXPECT_NE(bad_recipe.error().message.find("line 2: unknown instruction 'CMD'"), std::string::npos);

  auto missing = cache.ensure("ci", recipe_.path() / "nowhere");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(builder_.calls, 0);
}

}  // namespace
}  // namespace cellblock::templates
