#include "composer/size.hpp"

namespace composer {

namespace {
bool is_digit(char c) { return c >= '0' && c <= '9'; }
}  // namespace

bool parse_size_text(std::string_view text, uint64_t& bytes, std::string& error) {
  size_t digits = 0;
  while (digits < text.size() && is_digit(text[digits])) ++digits;
  if (digits == 0) {
    error = "expected a number of bytes with an optional K, M or G suffix";
    return false;
  }
  // A decimal fraction ("3.5G"): only with a suffix, and only where it makes
  // a whole number of bytes.
  size_t frac_end = digits;
  if (frac_end < text.size() && text[frac_end] == '.') {
    ++frac_end;
    while (frac_end < text.size() && is_digit(text[frac_end])) ++frac_end;
    if (frac_end == digits + 1) {
      error = "expected digits after the decimal point";
      return false;
    }
    if (frac_end - digits - 1 > 9) {
      error = "at most 9 digits after the decimal point";
      return false;
    }
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
  const std::string_view suffix = text.substr(frac_end);
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
  if (frac_end > digits) {
    if (shift == 0) {
      error = "a fraction needs a K, M or G suffix";
      return false;
    }
    // fraction f / 10^k of 2^shift bytes: exact, or refused.
    uint64_t f = 0, scale = 1;
    for (size_t i = digits + 1; i < frac_end; ++i) f = f * 10 + uint64_t(text[i] - '0'), scale *= 10;
    const unsigned __int128 part = (unsigned __int128)f << shift;
    if (part % scale != 0) {
      error = "'" + std::string(text) + "' is not a whole number of bytes";
      return false;
    }
    bytes += uint64_t(part / scale);  // < 2^shift, and bytes <= UINT64_MAX - (2^shift - 1): no overflow
  }
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
