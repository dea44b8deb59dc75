#include "kernel/console.hpp"

#include <stdarg.h>

#include "fmt/format.hpp"
#include "kernel/platform.hpp"

namespace cos {
namespace {
void console_sink(void*, const char* s, size_t len) { platform::console_write(s, len); }
}  // namespace

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
