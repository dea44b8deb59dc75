#include "composer/size.hpp"

namespace composer {

bool parse_size_text(std::string_view text, uint64_t& bytes, std::string& error) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) {
    error = "expected a number of bytes with an optional K, M or G suffix";
    return false;
  }
  uint64_t n = 0;
  for (size_t i = 0; i < digits; ++i) {
    const uint64_t d = uint64_t(text[i] - '0');
    if (n > (UINT64_MAX - d) / 10) {
      error = "number too large";
      return false;
    }
    n = n * 10 + d;
  }
  const std::string_view suffix = text.substr(digits);
  unsigned shift = 0;
  if (suffix.empty()) {
    shift = 0;
  } else if (suffix == "K" || suffix == "k") {
    shift = 10;
  } else if (suffix == "M" || suffix == "m") {
    shift = 20;
  } else if (suffix == "G" || suffix == "g") {
    shift = 30;
  } else {
    error = "bad suffix '" + std::string(suffix) + "' (use K, M or G)";
    return false;
  }
  if (shift != 0 && n > (UINT64_MAX >> shift)) {
    error = "number too large";
    return false;
  }
  bytes = n << shift;
  return true;
}

std::string format_size(uint64_t bytes) {
  static constexpr struct { unsigned shift; char suffix; } units[] = {{30, 'G'}, {20, 'M'}, {10, 'K'}};
  for (const auto& u : units) {
    const uint64_t unit = uint64_t(1) << u.shift;
    if (bytes != 0 && bytes % unit == 0) return std::to_string(bytes / unit) + u.suffix;
  }
  return std::to_string(bytes);
}

}  // namespace composer
