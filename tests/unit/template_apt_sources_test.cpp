#include "template/apt_sources.h"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace cellblock::templates {
namespace {

namespace fs = std::filesystem;

// The layout of a Debian 12 cloud image: deb822 with two suites per stanza, plus disabled extras.
constexpr std::string_view kDeb822 = R"(Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.org/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://mirror.example.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://mirror.example.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.org/debian
Suites: bookworm-backports
Components: main
Enabled: no
)";

constexpr std::string_view kNodesource = R"(Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main
Architectures: amd64
Signed-By: /usr/share/keyrings/nodesource.gpg
)";

constexpr std::string_view kOneLine =
    "# main archive\n"
    "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
    "http://ftp.example.net/debian/ "
    "bookworm main non-free-firmware\n"
    "deb-src http://ftp.example.net/debian/ bookworm main\n"
    "deb http://security.example.net/debian-security bookworm-security main  # trailing comment\n"
    "deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n"
    "deb https://packages.sury.org/php/ bookworm main\n"
    "deb https://download.docker.com/linux/debian bookworm stable\n"
    "deb http://ftp.example.net/debian/ bullseye main\n"
    "deb http://ftp.example.net/debian/ bookworm contrib\n";

TEST(AptSources, ParsesDeb822Stanzas) {
  const auto sources = parse_deb822_sources(kDeb822);
  ASSERT_EQ(sources.size(), 3u);  // deb-src and the disabled stanza are skipped
  EXPECT_EQ(sources[0].uri, "http://mirror.example.org/debian");
  EXPECT_EQ(sources[0].suite, "bookworm");
  EXPECT_EQ(sources[0].components, (std::vector<std::string>{"main", "contrib"}));
  EXPECT_EQ(sources[1].suite, "bookworm-updates");
  EXPECT_EQ(sources[2].uri, "http://mirror.example.org/debian-security");
}

TEST(AptSources, KeepsOnlyDebianMainForTheSuite) {
  auto sources = parse_deb822_sources(kDeb822);
  const auto node = parse_deb822_sources(kNodesource);
  sources.insert(sources.end(), node.begin(), node.end());
  EXPECT_EQ(
      debian_source_lines(sources, "bookworm"),
      (std::vector<std::string>{"deb http://mirror.example.org/debian bookworm main",
                                "deb http://mirror.example.org/debian bookworm-updates main",
                                "deb http://mirror.example.org/debian-security bookworm-security main"}));
  EXPECT_TRUE(debian_source_lines(sources, "trixie").empty());
}

TEST(AptSources, OneLineFormatSkipsThirdPartyRepositories) {
  const auto sources = parse_one_line_sources(kOneLine);
  EXPECT_EQ(sources.size(), 7u);  // every "deb" line; deb-src and comments dropped
  EXPECT_EQ(
      debian_source_lines(sources, "bookworm"),
      (std::vector<std::string>{"deb http://ftp.example.net/debian/ bookworm main",
                                "deb http://security.example.net/debian-security bookworm-security main"}));
}

TEST(AptSources, ReadsTheHostLayoutFromAnAptDirectory) {
  std::string pattern = (fs::temp_directory_path() / "cellblock-apt-XXXXXX").string();
  const fs::path dir = ::mkdtemp(pattern.data());
  fs::create_directories(dir / "sources.list.d");
  std::ofstream(dir / "sources.list") << "deb http://one.example/debian bookworm main\n";
  std::ofstream(dir / "sources.list.d/debian.sources") << kDeb822;
  std::ofstream(dir / "sources.list.d/nodesource.sources") << kNodesource;
  // Not read: apt only uses *.list and *.sources.
  std::ofstream(dir / "sources.list.d/old.list.disabled") << "deb http://old.example/debian bookworm main\n";

  auto lines = host_debian_sources("bookworm", dir);
  ASSERT_TRUE(lines.has_value()) << lines.error().message;
  EXPECT_EQ(*lines, (std::vector<std::string>{
                        "deb http://one.example/debian bookworm main",
                        "deb http://mirror.example.org/debian bookworm main",
                        "deb http://mirror.example.org/debian bookworm-updates main",
                        "deb http://mirror.example.org/debian-security bookworm-security main"}));

  fs::remove(dir / "sources.list");
  fs::remove(dir / "sources.list.d/debian.sources");
  auto none = host_debian_sources("bookworm", dir);
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cellblock::templates
