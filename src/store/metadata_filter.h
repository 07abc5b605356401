#pragma once
// The `metadata` query parameter of `GET /v2/sandboxes` (e2b-api.md §3.5). The SDK percent-encodes keys and
// values, joins them with URLSearchParams (which encodes the '%' signs again) and the HTTP client encodes the
// whole value once more; the server undoes exactly that.

#include <map>
#include <string>
#include <string_view>

#include "common/error.h"

namespace cellblock::store {

// `query_value` is the parameter as the query parser hands it over (already decoded once). It is
// URL-unescaped once more, split on '&'; each piece must split on '=' into exactly two parts, and key and
// value are unescaped. Unescaping follows Go's url.QueryUnescape as E2B's API does ('+' is a space).
// Malformed input gives kInvalidArgument. An empty value gives an empty filter (matches every sandbox);
// the caller decides whether an empty parameter means "no filter".
Result<std::map<std::string, std::string>> parse_metadata_filter(std::string_view query_value);

}  // namespace cellblock::store
