#pragma once
// The Debian package sources a template's base is bootstrapped from are the HOST's: whatever mirror (or
// snapshot, or proxy) the operator configured for the host is what the templates use, and no mirror name
// lives in the repository.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cellblock::templates {

struct AptSource {
  std::string uri;
  std::string suite;
  std::vector<std::string> components;
};

// deb822 format (/etc/apt/sources.list.d/*.sources): every URI x suite of each enabled "Types: deb" stanza.
std::vector<AptSource> parse_deb822_sources(std::string_view text);
// One-line format (/etc/apt/sources.list, *.list): "deb [options] uri suite component...", deb-src skipped.
std::vector<AptSource> parse_one_line_sources(std::string_view text);

// The entries of Debian's own archive for `suite` and its companion suites (suite-updates, suite-security,
// ...), restricted to the main component, as one-line "deb <uri> <suite> main" strings (mmdebstrap accepts
// them as MIRROR arguments). Third-party repositories (nodesource, Google Cloud, ...) are skipped: they are
// recognised by their URI path, which for Debian's archive has a "debian" or "debian-security" segment.
std::vector<std::string> debian_source_lines(const std::vector<AptSource>& sources, std::string_view suite);

// Reads <apt_dir>/sources.list and <apt_dir>/sources.list.d/*.list and *.sources and returns
// debian_source_lines() of all of them. kNotFound when the host has no Debian entry for `suite`.
Result<std::vector<std::string>> host_debian_sources(std::string_view suite,
                                                     const std::filesystem::path& apt_dir = "/etc/apt");

}  // namespace cellblock::templates
