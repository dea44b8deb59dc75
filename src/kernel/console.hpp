// Kernel console output: printf-style messages on the platform console.
#pragma once
#include <stddef.h>

namespace cos {

/// Prints a formatted message (see src/lib/fmt/format.hpp for conversions).
void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// Prints `cos: PANIC: <message>` and stops the machine with a panic status.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace cos

/// Kernel invariant check: panics with the failed expression and location.
#define KASSERT(cond)                                                                   \
  do {                                                                                  \
    if (!(cond)) ::cos::panic("assertion '%s' failed at %s:%d", #cond, __FILE__, __LINE__); \
  } while (0)
