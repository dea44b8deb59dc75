#include "composer/ioports.hpp"

#include <cstdio>

#include "composer/grant_limits.hpp"

namespace composer {
namespace {

int digit_value(char c, unsigned base) {
  int v = -1;
  if (c >= '0' && c <= '9') v = c - '0';
  if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
  if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
  return v >= 0 && unsigned(v) < base ? v : -1;
}

// One number: "0x<hex>" or "<decimal>", the whole of `text`. Values above
// `limit` are reported as too large (no overflow: parsing stops early).
bool parse_number(std::string_view text, uint64_t limit, uint64_t& value) {
  unsigned base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) return false;
  value = 0;
  for (char c : text) {
    const int d = digit_value(c, base);
    if (d < 0) return false;
    value = value * base + unsigned(d);
    if (value > limit) value = limit + 1;  // saturate: "too large" below
  }
  return true;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

bool parse_ioport_range(std::string_view text, uint32_t& first, uint32_t& count, std::string& error) {
  const size_t sep = text.find_first_of("-:");
  uint64_t a = 0, b = 0;
  if (sep == std::string_view::npos || !parse_number(text.substr(0, sep), io_ports, a) ||
      !parse_number(text.substr(sep + 1), io_ports, b)) {
    error = "expected \"first-last\" or \"first:count\" with hexadecimal (0x3f8) or decimal port numbers";
    return false;
  }
  const bool inclusive = text[sep] == '-';
  const std::string_view too_large = a >= io_ports ? text.substr(0, sep) : text.substr(sep + 1);
  if (a >= io_ports || (inclusive && b >= io_ports)) {
    error = "port " + std::string(too_large) + " is beyond 0xffff";
    return false;
  }
  if (inclusive && b < a) {
    error = "the last port " + hex(b) + " is below the first " + hex(a);
    return false;
  }
  if (!inclusive && b == 0) {
    error = "the count must be at least 1";
    return false;
  }
  if (!inclusive && a + b > io_ports) {
    error = "the range ends past port 0xffff";
    return false;
  }
  first = uint32_t(a);
  count = uint32_t(inclusive ? b - a + 1 : b);
  return true;
}

std::string format_ioport_range(uint32_t first, uint32_t count) {
  if (count <= 1) return hex(first);
  return hex(first) + "-" + hex(uint64_t(first) + count - 1);
}

}  // namespace composer
