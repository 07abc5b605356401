#include "net/hostname.h"

namespace cellblock::net {
namespace {

constexpr std::size_t kMaxLabelLength = 63;

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace

std::optional<std::string> normalize_hostname(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxHostnameLength) return std::nullopt;
  std::string out(name);
  std::size_t label_length = 0;
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '.') {
      if (label_length == 0) return std::nullopt;
      label_length = 0;
    } else if (!is_label_char(c) || ++label_length > kMaxLabelLength) {
      return std::nullopt;
    }
  }
  if (label_length == 0) return std::nullopt;
  return out;
}

}  // namespace cellblock::net
