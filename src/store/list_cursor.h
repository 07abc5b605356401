#pragma once
// The opaque `nextToken` of sandbox listing: base64url("<started_at unix ns>__<id>"), with "__asc"
// appended for ascending order (E2B uses an RFC 3339 time; any opaque format works for the SDK). The order
// is part of the token so that a token replayed under the other order is refused, not misread.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cellblock::store {

struct ListCursor {
  std::int64_t started_at = 0;
  std::string id;
  bool ascending = false;
};

std::string encode_list_cursor(const ListCursor& cursor);
// kInvalidArgument for anything encode_list_cursor did not produce.
Result<ListCursor> decode_list_cursor(std::string_view token);

}  // namespace cellblock::store
