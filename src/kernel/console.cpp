#include "kernel/console.hpp"

#include <stdarg.h>

#include "fmt/format.hpp"
#include "kernel/platform.hpp"

namespace cos {
namespace {
constexpr uint32_t kKernel = ~0u;  // kprintf's owner
uint32_t g_line_owner;             // who left the current line unfinished; 0: at a line start

void console_sink(void*, const char* s, size_t len) {
  for (size_t i = 0; i < len; ++i) console_put(kKernel, s[i]);
}
}  // namespace

void console_put(uint32_t owner, char c) {
  if (g_line_owner != 0 && g_line_owner != owner) {
    const char nl = '\n';
    platform::console_write(&nl, 1);
  }
  platform::console_write(&c, 1);
  g_line_owner = c == '\n' ? 0 : owner;
}

void kprintf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fmt::vformat(console_sink, nullptr, fmt, ap);
  va_end(ap);
}

void panic(const char* fmt, ...) {
  asm volatile("cli");
  kprintf("\ncos: PANIC: ");
  va_list ap;
  va_start(ap, fmt);
  fmt::vformat(console_sink, nullptr, fmt, ap);
  va_end(ap);
  kprintf("\n");
  platform::stop(platform::StopReason::panic);
}

}  // namespace cos
