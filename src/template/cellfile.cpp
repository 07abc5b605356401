#include "template/cellfile.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

#include <fmt/format.h>

namespace cellblock::templates {
namespace {

struct LogicalLine {
  int line = 0;
  std::string text;
};

std::string_view trim_left(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

std::string_view trim_right(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  return trim_right(trim_left(s));
}

tl::unexpected<Error> line_error(int line, std::string_view what) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("Cellfile line {}: {}", line, what));
}

// Joins continuation lines and drops comments and blank lines. As in Docker, comment and blank lines inside a
// continuation are skipped rather than ending the instruction.
std::vector<LogicalLine> join_lines(std::string_view text) {
  std::vector<LogicalLine> lines;
  std::optional<LogicalLine> current;
  int number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    std::string_view physical = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);

    const std::string_view content = trim_left(physical);
    if (content.empty() || content.front() == '#') continue;
    if (!current) current = LogicalLine{number, {}};

    const std::string_view right_trimmed = trim_right(physical);
    if (right_trimmed.back() == '\\') {
      current->text.append(right_trimmed.substr(0, right_trimmed.size() - 1));
      continue;
    }
    current->text.append(physical);
    lines.push_back(std::move(*current));
    current.reset();
  }
  if (current && !trim(current->text).empty()) lines.push_back(std::move(*current));
  return lines;
}

// Splits on whitespace, honouring "double" and 'single' quotes and backslash escapes, and removes the
// quoting.
Result<std::vector<std::string>> split_words(std::string_view s, int line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0) {
      if (c == quote) {
        quote = 0;
      } else if (c == '\\' && quote == '"' && i + 1 < s.size()) {
        word.push_back(s[++i]);
      } else {
        word.push_back(c);
      }
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '\\' && i + 1 < s.size()) {
      word.push_back(s[++i]);
    } else {
      word.push_back(c);
    }
  }
  if (quote != 0) return line_error(line, fmt::format("unterminated {} quote", quote));
  if (in_word) words.push_back(std::move(word));
  return words;
}

bool valid_env_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Debian's adduser NAME_REGEX, without the trailing '$' of machine accounts.
bool valid_account_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name.front())) || name.front() == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// Resolves `path` against `base` and normalises it; keeps a trailing '/' when `keep_trailing_slash`.
std::string resolve_path(std::string_view path, std::string_view base, bool keep_trailing_slash) {
  const bool trailing = path.size() > 1 && path.back() == '/';
  std::filesystem::path joined = std::filesystem::path(base) / std::filesystem::path(path);
  std::string normal = joined.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  if (keep_trailing_slash && trailing && normal != "/") normal.push_back('/');
  return normal;
}

struct ParseState {
  std::string workdir = "/";
  bool have_from = false;
};

Result<StepAction> parse_from(std::string_view args, int line, ParseState& state) {
  if (state.have_from) return line_error(line, "only one FROM is supported");
  auto words = split_words(args, line);
  if (!words) return tl::unexpected(words.error());
  if (words->size() != 1)
    return line_error(line, "FROM takes exactly one image (\"AS\" stages are not supported)");
  const std::string& image = words->front();
  if (image != "debian:bookworm" && image != "debian:12") {
    return line_error(line, fmt::format("unsupported base image '{}' (supported: debian:bookworm)", image));
  }
  state.have_from = true;
  return FromStep{image, "bookworm"};
}

Result<StepAction> parse_run(std::string_view args, int line) {
  if (args.empty()) return line_error(line, "RUN needs a command");
  if (args.front() == '[')
    return line_error(line, "the exec (JSON) form of RUN is not supported; use the shell form");
  return RunStep{std::string(args)};
}

Result<StepAction> parse_copy(std::string_view args, int line, const ParseState& state) {
  if (!args.empty() && args.front() == '[') return line_error(line, "the JSON form of COPY is not supported");
  auto words = split_words(args, line);
  if (!words) return tl::unexpected(words.error());
  for (const auto& word : *words) {
    if (word.starts_with("--"))
      return line_error(line, fmt::format("COPY option '{}' is not supported", word));
  }
  if (words->size() < 2) return line_error(line, "COPY needs a source and a destination");
  CopyStep copy;
  copy.sources.assign(words->begin(), words->end() - 1);
  const std::string& destination = words->back();
  if (copy.sources.size() > 1 && destination.back() != '/') {
    return line_error(line, "COPY with several sources needs a destination directory ending in '/'");
  }
  for (const auto& source : copy.sources) {
    const auto normal = std::filesystem::path(source).lexically_normal();
    if (normal.is_absolute() || (!normal.empty() && *normal.begin() == "..")) {
      return line_error(line, fmt::format("COPY source '{}' must stay inside the recipe directory", source));
    }
  }
  copy.destination = resolve_path(destination, state.workdir, true);
  return copy;
}

Result<StepAction> parse_env(std::string_view args, int line) {
  auto words = split_words(args, line);
  if (!words) return tl::unexpected(words.error());
  if (words->empty()) return line_error(line, "ENV needs NAME=value");
  EnvStep env;
  if (words->front().find('=') == std::string::npos) {
    // Legacy form "ENV NAME value with spaces": the rest of the line is the value.
    const std::string& name = words->front();
    if (!valid_env_name(name)) return line_error(line, fmt::format("invalid variable name '{}'", name));
    if (words->size() < 2) return line_error(line, fmt::format("ENV {} has no value", name));
    const auto rest = trim(args.substr(args.find(name) + name.size()));
    env.variables.emplace_back(name, std::string(rest));
    return env;
  }
  for (const auto& word : *words) {
    const auto equals = word.find('=');
    if (equals == std::string::npos)
      return line_error(line, fmt::format("expected NAME=value, got '{}'", word));
    std::string name = word.substr(0, equals);
    if (!valid_env_name(name)) return line_error(line, fmt::format("invalid variable name '{}'", name));
    env.variables.emplace_back(std::move(name), word.substr(equals + 1));
  }
  return env;
}

Result<StepAction> parse_workdir(std::string_view args, int line, ParseState& state) {
  auto words = split_words(args, line);
  if (!words) return tl::unexpected(words.error());
  if (words->size() != 1) return line_error(line, "WORKDIR takes exactly one directory");
  state.workdir = resolve_path(words->front(), state.workdir, false);
  return WorkdirStep{state.workdir};
}

Result<StepAction> parse_user(std::string_view args, int line) {
  auto words = split_words(args, line);
  if (!words) return tl::unexpected(words.error());
  if (words->size() != 1) return line_error(line, "USER takes exactly one user name");
  const std::string& spec = words->front();
  const auto colon = spec.find(':');
  UserStep user{spec.substr(0, colon), colon == std::string::npos ? std::string{} : spec.substr(colon + 1)};
  if (!valid_account_name(user.user) || (colon != std::string::npos && !valid_account_name(user.group))) {
    return line_error(line,
                      fmt::format("USER '{}' must be a user name, optionally with ':group' (numeric ids "
                                  "are not supported)",
                                  spec));
  }
  return user;
}

Result<StepAction> parse_instruction(std::string_view keyword, std::string_view args, int line,
                                     ParseState& state) {
  if (keyword == "FROM") return parse_from(args, line, state);
  if (!state.have_from) return line_error(line, "the first instruction must be FROM");
  if (keyword == "RUN") return parse_run(args, line);
  if (keyword == "COPY") return parse_copy(args, line, state);
  if (keyword == "ENV") return parse_env(args, line);
  if (keyword == "WORKDIR") return parse_workdir(args, line, state);
  if (keyword == "USER") return parse_user(args, line);
  return line_error(line, fmt::format("unknown instruction '{}'", keyword));
}

}  // namespace

Result<Recipe> parse_cellfile(std::string_view text) {
  Recipe recipe;
  ParseState state;
  for (const auto& logical : join_lines(text)) {
    const std::string_view content = trim(logical.text);
    const auto space = std::find_if(content.begin(), content.end(),
                                    [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
    std::string keyword(content.begin(), space);
    std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const std::string_view args = trim(content.substr(keyword.size()));

    auto action = parse_instruction(keyword, args, logical.line, state);
    if (!action) return tl::unexpected(action.error());
    recipe.steps.push_back(Step{logical.line, std::string(content), std::move(*action)});
  }
  if (recipe.steps.empty())
    return fail(ErrorCode::kInvalidArgument, "Cellfile has no instructions (FROM missing)");
  recipe.base = std::get<FromStep>(recipe.steps.front().action);
  return recipe;
}

std::string_view instruction_name(const StepAction& action) {
  static constexpr std::string_view kNames[] = {"FROM", "RUN", "COPY", "ENV", "WORKDIR", "USER"};
  return kNames[action.index()];
}

}  // namespace cellblock::templates
