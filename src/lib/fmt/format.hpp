// A small printf-style formatter shared by the kernel and components
// (freestanding: no allocation, no libc). Host-compilable for unit tests.
//
// Supported conversions: %d %i %u %x %X %o %c %s %p %%, with flags '-', '0'
// and '#', a field width (number or '*'), precision for %s ('.N' or '.*'), and the
// length modifiers h, hh, l, ll, z, j, t. Unknown conversions are copied
// through literally.
#pragma once
#include <stdarg.h>
#include <stddef.h>

namespace cos::fmt {

/// Output callback: receives `len` bytes at `s`. `ctx` is the caller's.
using Sink = void (*)(void* ctx, const char* s, size_t len);

/// Formats `fmt` with `ap` into `sink`. Returns the number of bytes produced.
size_t vformat(Sink sink, void* ctx, const char* fmt, va_list ap);

/// Formats into buf (capacity cap bytes, always NUL-terminated when cap > 0).
/// Returns the length the full output would have had (like vsnprintf).
size_t vsnformat(char* buf, size_t cap, const char* fmt, va_list ap);
size_t snformat(char* buf, size_t cap, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace cos::fmt
