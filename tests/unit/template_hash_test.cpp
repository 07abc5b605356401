#include "template/content_hash.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace cellblock::templates {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cellblock-template-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& path, std::string_view content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

constexpr std::string_view kRecipe =
    "FROM debian:bookworm\n"
    "COPY python/ /opt/cellblock/python/\n"
    "COPY tool.sh /usr/local/bin/tool\n";

class ContentHashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    write(dir_.path() / "Cellfile", kRecipe);
    write(dir_.path() / "python/pkg/__init__.py", "print('hi')\n");
    write(dir_.path() / "python/pkg/charts.py", "X = 1\n");
    write(dir_.path() / "tool.sh", "#!/bin/sh\necho tool\n");
    ::chmod((dir_.path() / "tool.sh").c_str(), 0755);
  }

  std::string hash() {
    auto context = load_recipe(dir_.path());
    EXPECT_TRUE(context.has_value()) << (context ? "" : context.error().message);
    if (!context) return {};
    auto hash = content_hash(*context);
    EXPECT_TRUE(hash.has_value()) << (hash ? "" : hash.error().message);
    return hash ? *hash : std::string{};
  }

  TempDir dir_;
};

TEST_F(ContentHashTest, IsStableAndHex) {
  const auto first = hash();
  EXPECT_EQ(first.size(), 64u);
  EXPECT_EQ(first.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(hash(), first);
}

TEST_F(ContentHashTest, ChangesWithTheRecipeText) {
  const auto before = hash();
  write(dir_.path() / "Cellfile", std::string(kRecipe) + "RUN true\n");
  EXPECT_NE(hash(), before);
}

TEST_F(ContentHashTest, ChangesWithCopiedFileContent) {
  const auto before = hash();
  write(dir_.path() / "python/pkg/charts.py", "X = 2\n");
  EXPECT_NE(hash(), before);
}

TEST_F(ContentHashTest, ChangesWithCopiedFileMode) {
  const auto before = hash();
  ::chmod((dir_.path() / "tool.sh").c_str(), 0700);
  EXPECT_NE(hash(), before);
}

TEST_F(ContentHashTest, ChangesWithANewOrRenamedFile) {
  const auto before = hash();
  fs::rename(dir_.path() / "python/pkg/charts.py", dir_.path() / "python/pkg/plots.py");
  const auto renamed = hash();
  EXPECT_NE(renamed, before);
  write(dir_.path() / "python/pkg/extra.py", "");
  EXPECT_NE(hash(), renamed);
}

TEST_F(ContentHashTest, IgnoresUnrelatedFilesAndBytecodeCaches) {
  const auto before = hash();
  write(dir_.path() / "README.md", "not copied\n");
  write(dir_.path() / "python/pkg/__pycache__/charts.cpython-311.pyc", "bytecode");
  write(dir_.path() / "python/pkg/stale.pyc", "bytecode");
  EXPECT_EQ(hash(), before);
}

TEST_F(ContentHashTest, MissingCopySourceIsNotFound) {
  write(dir_.path() / "Cellfile", "FROM debian:bookworm\nCOPY nothing-here /x\n");
  auto context = load_recipe(dir_.path());
  ASSERT_TRUE(context.has_value());
  auto result = content_hash(*context);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kNotFound);
  EXPECT_NE(result.error().message.find("nothing-here"), std::string::npos);
}

TEST(RecipeContext, CopySourcesFallBackToTheRepositoryRoot) {
  TempDir repo;
  fs::create_directories(repo.path() / ".git");
  write(repo.path() / "shared/common.txt", "shared\n");
  write(repo.path() / "templates/t/Cellfile", "FROM debian:bookworm\nCOPY shared/common.txt /etc/\n");
  auto context = load_recipe(repo.path() / "templates/t/Cellfile");
  ASSERT_TRUE(context.has_value()) << context.error().message;
  EXPECT_EQ(context->repo_dir, repo.path());
  auto source = resolve_copy_source(*context, "shared/common.txt");
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(*source, repo.path() / "shared/common.txt");
}

TEST(RecipeContext, ParseErrorsNameTheFileAndLine) {
  TempDir dir;
  write(dir.path() / "Cellfile", "FROM debian:bookworm\nHEALTHCHECK NONE\n");
  auto context = load_recipe(dir.path());
  ASSERT_FALSE(context.has_value());
  EXPECT_EQ(context.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(context.error().message.find("Cellfile line 2: unknown instruction 'HEALTHCHECK'"),
            std::string::npos);
}

}  // namespace
}  // namespace cellblock::templates
