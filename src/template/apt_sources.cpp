#include "template/apt_sources.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace cellblock::templates {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_whitespace(std::string_view s) {
  std::vector<std::string> words;
  std::istringstream in{std::string(s)};
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
  }
  return lines;
}

using Stanza = std::map<std::string, std::string>;  // lower-cased field name → value (continuations joined)

std::vector<Stanza> parse_stanzas(std::string_view text) {
  std::vector<Stanza> stanzas;
  Stanza current;
  std::string last_field;
  for (const auto& line : lines_of(text)) {
    if (!line.empty() && line.front() == '#') continue;
    if (trim(line).empty()) {
      if (!current.empty()) stanzas.push_back(std::exchange(current, {}));
      last_field.clear();
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(line.front()))) {
      if (!last_field.empty()) current[last_field] += " " + std::string(trim(line));
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    last_field = lower(trim(std::string_view(line).substr(0, colon)));
    current[last_field] = std::string(trim(std::string_view(line).substr(colon + 1)));
  }
  if (!current.empty()) stanzas.push_back(std::move(current));
  return stanzas;
}

bool contains(const std::vector<std::string>& words, std::string_view word) {
  return std::find(words.begin(), words.end(), word) != words.end();
}

// The path of a URI, split into segments: "http://host/archive/debian/2025/" → {"archive","debian","2025"}.
std::vector<std::string> path_segments(std::string_view uri) {
  const auto scheme = uri.find("://");
  std::string_view rest = scheme == std::string_view::npos ? uri : uri.substr(scheme + 3);
  const auto slash = rest.find('/');
  rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  std::vector<std::string> segments;
  std::istringstream in{std::string(rest)};
  for (std::string segment; std::getline(in, segment, '/');) {
    if (!segment.empty()) segments.push_back(segment);
  }
  return segments;
}

bool is_debian_archive(std::string_view uri) {
  const auto segments = path_segments(uri);
  return contains(segments, "debian") || contains(segments, "debian-security");
}

bool is_companion_suite(std::string_view candidate, std::string_view suite) {
  if (candidate == suite) return true;
  return candidate.size() > suite.size() && candidate.starts_with(suite) &&
         (candidate[suite.size()] == '-' || candidate[suite.size()] == '/');
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::vector<AptSource> parse_deb822_sources(std::string_view text) {
  std::vector<AptSource> sources;
  for (const auto& stanza : parse_stanzas(text)) {
    auto field = [&](const char* name) {
      const auto it = stanza.find(name);
      return it == stanza.end() ? std::string{} : it->second;
    };
    if (!contains(split_whitespace(field("types")), "deb")) continue;
    if (lower(field("enabled")) == "no") continue;
    const auto components = split_whitespace(field("components"));
    for (const auto& uri : split_whitespace(field("uris"))) {
      for (const auto& suite : split_whitespace(field("suites"))) sources.push_back({uri, suite, components});
    }
  }
  return sources;
}

std::vector<AptSource> parse_one_line_sources(std::string_view text) {
  std::vector<AptSource> sources;
  for (const auto& raw : lines_of(text)) {
    std::string line(raw.substr(0, raw.find('#')));
    // Options in brackets ("[arch=amd64 signed-by=...]") do not matter here.
    if (const auto open = line.find('['); open != std::string::npos) {
      const auto close = line.find(']', open);
      if (close == std::string::npos) continue;
      line.erase(open, close - open + 1);
    }
    const auto words = split_whitespace(line);
    if (words.size() < 3 || words[0] != "deb") continue;
    sources.push_back({words[1], words[2], std::vector<std::string>(words.begin() + 3, words.end())});
  }
  return sources;
}

std::vector<std::string> debian_source_lines(const std::vector<AptSource>& sources, std::string_view suite) {
  std::vector<std::string> lines;
  for (const auto& source : sources) {
    if (!is_companion_suite(source.suite, suite) || !contains(source.components, "main")) continue;
    if (!is_debian_archive(source.uri)) continue;
    std::string line = fmt::format("deb {} {} main", source.uri, source.suite);
    if (!contains(lines, line)) lines.push_back(std::move(line));
  }
  return lines;
}

Result<std::vector<std::string>> host_debian_sources(std::string_view suite,
                                                     const std::filesystem::path& apt_dir) {
  std::vector<AptSource> sources;
  std::error_code ec;
  if (std::filesystem::is_regular_file(apt_dir / "sources.list", ec)) {
    auto parsed = parse_one_line_sources(read_file(apt_dir / "sources.list"));
    sources.insert(sources.end(), parsed.begin(), parsed.end());
  }
  std::vector<std::filesystem::path> parts;
  for (const auto& entry : std::filesystem::directory_iterator(apt_dir / "sources.list.d", ec)) {
    parts.push_back(entry.path());
  }
  std::sort(parts.begin(), parts.end());  // apt reads them in this order too
  for (const auto& path : parts) {
    std::vector<AptSource> parsed;
    if (path.extension() == ".list") {
      parsed = parse_one_line_sources(read_file(path));
    } else if (path.extension() == ".sources") {
      parsed = parse_deb822_sources(read_file(path));
    }
    sources.insert(sources.end(), parsed.begin(), parsed.end());
  }
  auto lines = debian_source_lines(sources, suite);
  if (lines.empty()) {
    return fail(
        ErrorCode::kNotFound,
        fmt::format("no Debian '{}' main source in {}/sources.list or {}/sources.list.d; configure the "
                    "host's apt sources (a Debian mirror for {}) and try again",
                    suite, apt_dir.string(), apt_dir.string(), suite));
  }
  return lines;
}

}  // namespace cellblock::templates
