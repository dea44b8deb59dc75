#include "fmt/format.hpp"

#include <stdint.h>

namespace cos::fmt {
namespace {

struct Spec {
  bool left = false;
  bool zero = false;
  bool alt = false;  // '#': 0x prefix for %x/%X, leading 0 for %o
  int width = 0;
  int precision = -1;
};

void pad(Sink sink, void* ctx, char c, int n, size_t& total) {
  while (n-- > 0) {
    sink(ctx, &c, 1);
    ++total;
  }
}

void emit_field(Sink sink, void* ctx, const char* s, size_t len, const Spec& spec,
                size_t& total, bool numeric_zero_pad) {
  int fill = spec.width > static_cast<int>(len) ? spec.width - static_cast<int>(len) : 0;
  if (!spec.left) {
    if (numeric_zero_pad && spec.zero && len > 0 && s[0] == '-') {
      sink(ctx, s, 1);
      ++total;
      ++s;
      --len;
      pad(sink, ctx, '0', fill, total);
    } else {
      pad(sink, ctx, numeric_zero_pad && spec.zero ? '0' : ' ', fill, total);
    }
  }
  sink(ctx, s, len);
  total += len;
  if (spec.left) pad(sink, ctx, ' ', fill, total);
}

size_t utoa(uint64_t v, unsigned base, bool upper, char* out /* >= 24 bytes, filled from the end */) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = digits[v % base];
    v /= base;
  } while (v != 0);
  for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
  return n;
}

}  // namespace

size_t vformat(Sink sink, void* ctx, const char* fmt, va_list ap) {
  size_t total = 0;
  while (*fmt) {
    if (*fmt != '%') {
      const char* start = fmt;
      while (*fmt && *fmt != '%') ++fmt;
      sink(ctx, start, static_cast<size_t>(fmt - start));
      total += static_cast<size_t>(fmt - start);
      continue;
    }
    const char* conv_start = fmt++;
    Spec spec;
    for (;; ++fmt) {
      if (*fmt == '-') spec.left = true;
      else if (*fmt == '0') spec.zero = true;
      else if (*fmt == '#') spec.alt = true;
      else break;
    }
    if (*fmt == '*') {
      spec.width = va_arg(ap, int);
      if (spec.width < 0) { spec.left = true; spec.width = -spec.width; }
      ++fmt;
    } else {
      while (*fmt >= '0' && *fmt <= '9') spec.width = spec.width * 10 + (*fmt++ - '0');
    }
    if (*fmt == '.') {
      ++fmt;
      spec.precision = 0;
      if (*fmt == '*') {
        spec.precision = va_arg(ap, int);
        ++fmt;
      } else {
        while (*fmt >= '0' && *fmt <= '9') spec.precision = spec.precision * 10 + (*fmt++ - '0');
      }
    }
    int longness = 0;  // 0 int, 1 long, 2 long long, -1 short, -2 char
    for (;; ++fmt) {
      if (*fmt == 'l') ++longness;
      else if (*fmt == 'h') --longness;
      else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't') longness = 2;
      else break;
    }
    char buf[32];
    char conv = *fmt;
    if (conv == '\0') break;
    ++fmt;
    switch (conv) {
      case 'd':
      case 'i': {
        int64_t v = longness >= 1 ? va_arg(ap, long long) : va_arg(ap, int);
        if (longness == -1) v = static_cast<short>(v);
        if (longness <= -2) v = static_cast<signed char>(v);
        uint64_t mag = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
        size_t n = 0;
        if (v < 0) buf[n++] = '-';
        n += utoa(mag, 10, false, buf + n);
        emit_field(sink, ctx, buf, n, spec, total, true);
        break;
      }
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        uint64_t v = longness >= 1 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
        if (longness == -1) v = static_cast<unsigned short>(v);
        if (longness <= -2) v = static_cast<unsigned char>(v);
        unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
        size_t n = 0;
        if (spec.alt && base == 16) {
          buf[n++] = '0';
          buf[n++] = conv == 'X' ? 'X' : 'x';
        } else if (spec.alt && base == 8 && v != 0) {
          buf[n++] = '0';
        }
        n += utoa(v, base, conv == 'X', buf + n);
        emit_field(sink, ctx, buf, n, spec, total, true);
        break;
      }
      case 'p': {
        uint64_t v = reinterpret_cast<uintptr_t>(va_arg(ap, void*));
        buf[0] = '0';
        buf[1] = 'x';
        size_t n = 2 + utoa(v, 16, false, buf + 2);
        emit_field(sink, ctx, buf, n, spec, total, false);
        break;
      }
      case 'c': {
        buf[0] = static_cast<char>(va_arg(ap, int));
        emit_field(sink, ctx, buf, 1, spec, total, false);
        break;
      }
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (!s) s = "(null)";
        size_t n = 0;
        while (s[n] && (spec.precision < 0 || n < static_cast<size_t>(spec.precision))) ++n;
        emit_field(sink, ctx, s, n, spec, total, false);
        break;
      }
      case '%':
        sink(ctx, "%", 1);
        ++total;
        break;
      default:
        sink(ctx, conv_start, static_cast<size_t>(fmt - conv_start));
        total += static_cast<size_t>(fmt - conv_start);
        break;
    }
  }
  return total;
}

namespace {
struct BufCtx {
  char* buf;
  size_t cap;
  size_t used;
};
void buf_sink(void* ctx, const char* s, size_t len) {
  auto* b = static_cast<BufCtx*>(ctx);
  for (size_t i = 0; i < len; ++i) {
    if (b->cap > 0 && b->used + 1 < b->cap) b->buf[b->used] = s[i];
    ++b->used;
  }
}
}  // namespace

size_t vsnformat(char* buf, size_t cap, const char* fmt, va_list ap) {
  BufCtx ctx{buf, cap, 0};
  size_t n = vformat(buf_sink, &ctx, fmt, ap);
  if (cap > 0) buf[ctx.used < cap ? ctx.used : cap - 1] = '\0';
  return n;
}

size_t snformat(char* buf, size_t cap, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t n = vsnformat(buf, cap, fmt, ap);
  va_end(ap);
  return n;
}

}  // namespace cos::fmt
