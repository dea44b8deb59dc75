// Kernel console output: printf-style messages on the platform console.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos {

/// Prints a formatted message (see src/lib/fmt/format.hpp for conversions).
void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// Writes one byte printed by `owner` (a component id + 1) to the console.
/// Components share the console line by line: a byte from one owner on a
/// line another left unfinished (a prompt, a partial line) starts a new line
/// first, so the lines of two VMs' consoles, or a guest's prompt and a
/// component's log line, never run into each other. Kernel messages
/// (kprintf) also start on a line of their own.
void console_put(uint32_t owner, char c);

/// Prints `cos: PANIC: <message>` and stops the machine with a panic status.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace cos

/// Kernel invariant check: panics with the failed expression and location.
#define KASSERT(cond)                                                                   \
  do {                                                                                  \
    if (!(cond)) ::cos::panic("assertion '%s' failed at %s:%d", #cond, __FILE__, __LINE__); \
  } while (0)
