// What the portable kernel core needs from the machine layer
// (implemented under src/platform/<arch>/).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::platform {

/// Writes bytes to the kernel console (COM1 on x86-64).
void console_write(const char* s, size_t len);

/// How the system stops: a clean power-off or after a kernel panic.
enum class StopReason { clean, panic };

/// Stops the machine. On QEMU it exits through isa-debug-exit (status 33 for
/// clean, 35 for panic); on Bochs through port 0x8900. Never returns.
[[noreturn]] void stop(StopReason why);

}  // namespace cos::platform
