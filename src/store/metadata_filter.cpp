#include "store/metadata_filter.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "common/encoding.h"

namespace cellblock::store {
namespace {

// Go's url.QueryUnescape: '+' is a space, %XX a byte; a broken escape is an error.
std::optional<std::string> query_unescape(std::string_view text) {
  std::string spaced(text);
  std::replace(spaced.begin(), spaced.end(), '+', ' ');
  return percent_decode(spaced);
}

tl::unexpected<Error> bad_filter(std::string_view detail) {
  return fail(ErrorCode::kInvalidArgument, fmt::format("invalid metadata filter: {}", detail));
}

}  // namespace

Result<std::map<std::string, std::string>> parse_metadata_filter(std::string_view query_value) {
  std::map<std::string, std::string> filter;
  if (query_value.empty()) return filter;
  auto joined = query_unescape(query_value);
  if (!joined) return bad_filter("malformed percent-escape");

  std::string_view rest = *joined;
  while (true) {
    std::size_t amp = rest.find('&');
    std::string_view piece = rest.substr(0, amp);
    std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos || piece.find('=', eq + 1) != std::string_view::npos) {
      return bad_filter(fmt::format("\"{}\" is not one key=value pair", piece));
    }
    auto key = query_unescape(piece.substr(0, eq));
    auto value = query_unescape(piece.substr(eq + 1));
    if (!key || !value) return bad_filter("malformed percent-escape in a key or value");
    filter.insert_or_assign(std::move(*key), std::move(*value));
    if (amp == std::string_view::npos) return filter;
    rest.remove_prefix(amp + 1);
  }
}

}  // namespace cellblock::store
