#include "store/list_cursor.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "common/encoding.h"

namespace cellblock::store {
namespace {

constexpr std::string_view kSeparator = "__";
constexpr std::string_view kAscendingSuffix = "__asc";

tl::unexpected<Error> bad_cursor() {
  return fail(ErrorCode::kInvalidArgument, "invalid nextToken");
}

}  // namespace

std::string encode_list_cursor(const ListCursor& cursor) {
  std::string text = fmt::format("{}{}{}{}", cursor.started_at, kSeparator, cursor.id,
                                 cursor.ascending ? kAscendingSuffix : std::string_view());
  std::string token = base64_encode_unpadded(text);
  std::replace(token.begin(), token.end(), '+', '-');
  std::replace(token.begin(), token.end(), '/', '_');
  return token;
}

Result<ListCursor> decode_list_cursor(std::string_view token) {
  // base64_decode accepts both alphabets; insist on the URL-safe one we emit (tokens travel in queries).
  if (token.find_first_of("+/") != std::string_view::npos) return bad_cursor();
  auto decoded = base64_decode(token);
  if (!decoded) return bad_cursor();
  std::string_view text = *decoded;

  ListCursor cursor;
  if (text.ends_with(kAscendingSuffix)) {
    cursor.ascending = true;
    text.remove_suffix(kAscendingSuffix.size());
  }
  std::size_t separator = text.find(kSeparator);
  if (separator == std::string_view::npos || separator == 0) return bad_cursor();
  std::string_view number = text.substr(0, separator);
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), cursor.started_at);
  if (ec != std::errc() || end != number.data() + number.size()) return bad_cursor();
  cursor.id = std::string(text.substr(separator + kSeparator.size()));
  if (cursor.id.empty()) return bad_cursor();
  return cursor;
}

}  // namespace cellblock::store
