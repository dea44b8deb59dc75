#include "hypercall/routes.hpp"

namespace cos::hypercall {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Cursor {
  const char* s;
  size_t len, i;
  bool done() const { return i >= len; }
  char peek() const { return done() ? '\0' : s[i]; }
  void skip_spaces() {
    while (!done() && is_space(s[i])) ++i;
  }
};

ParseError fail(const char* message, size_t at) { return {message, at}; }

// A decimal or 0x-hex number of at most 32 bits.
ParseError parse_number(Cursor& c, uint32_t& out) {
  size_t start = c.i;
  uint64_t v = 0;
  if (c.peek() == '0' && c.i + 1 < c.len && (c.s[c.i + 1] == 'x' || c.s[c.i + 1] == 'X')) {
    c.i += 2;
    if (hex_value(c.peek()) < 0) return fail("expected hex digits after 0x", c.i);
    while (!c.done() && hex_value(c.peek()) >= 0) {
      v = v * 16 + static_cast<unsigned>(hex_value(c.s[c.i++]));
      if (v > 0xffffffffu) return fail("hypercall number above 0xffffffff", start);
    }
  } else {
    if (!is_digit(c.peek())) return fail("expected a hypercall number (decimal or 0x-hex)", c.i);
    while (!c.done() && is_digit(c.peek())) {
      v = v * 10 + static_cast<unsigned>(c.s[c.i++] - '0');
      if (v > 0xffffffffu) return fail("hypercall number above 0xffffffff", start);
    }
  }
  out = static_cast<uint32_t>(v);
  return {nullptr, 0};
}

}  // namespace

const Route* Routes::find(uint32_t number) const {
  for (unsigned i = 0; i < count; ++i)
    if (route[i].number == number) return &route[i];
  return nullptr;
}

ParseError parse_routes(const char* text, size_t len, Routes& out) {
  out.count = 0;
  Cursor c{text, len, 0};
  c.skip_spaces();
  if (c.done()) return {nullptr, 0};
  for (;;) {
    c.skip_spaces();
    size_t number_at = c.i;
    uint32_t number = 0;
    if (ParseError e = parse_number(c, number); e.message) return e;
    for (uint32_t r : kReservedNumbers)
      if (number == r) return fail("this hypercall number is the VMM's own (the guest bootloader's error report)", number_at);
    if (out.find(number)) return fail("hypercall number routed twice", number_at);
    c.skip_spaces();
    if (c.peek() != '=') return fail("expected '=' after the hypercall number", c.i);
    ++c.i;
    c.skip_spaces();
    size_t name_at = c.i;
    if (!is_lower(c.peek())) return fail("expected an interface name ([a-z][a-z0-9_]*)", c.i);
    if (out.count == kMaxRoutes) return fail("too many hypercall routes (at most 8)", number_at);
    Route& r = out.route[out.count];
    unsigned n = 0;
    while (!c.done() && (is_lower(c.peek()) || is_digit(c.peek()) || c.peek() == '_')) {
      if (n == kMaxInterfaceBytes) return fail("interface name longer than 31 characters", name_at);
      r.interface[n++] = c.s[c.i++];
    }
    r.interface[n] = '\0';
    r.number = number;
    ++out.count;
    c.skip_spaces();
    if (c.done()) return {nullptr, 0};
    if (c.peek() != ',') return fail("expected ',' or the end after the interface name", c.i);
    ++c.i;
  }
}

}  // namespace cos::hypercall
