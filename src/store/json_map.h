#pragma once
// String maps (sandbox metadata, env vars) and string lists (layer ids) as JSON text in a TEXT column.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace cellblock::store {

using StringMap = std::map<std::string, std::string>;

std::string to_json_object(const StringMap& map);
// kInternal when the text is not a JSON object of strings: the store wrote it, so that is corruption.
Result<StringMap> from_json_object(std::string_view text);

std::string to_json_array(const std::vector<std::string>& list);
// kInternal when the text is not a JSON array of strings.
Result<std::vector<std::string>> from_json_array(std::string_view text);

}  // namespace cellblock::store
