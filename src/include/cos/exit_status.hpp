// Exit statuses of components (Op::comp_exit). When an essential component
// ends with a non-zero status, or faults, the kernel stops the machine and
// `./cos run` exits with that status (docs/running.md, "How a run is
// judged"). Statuses below 4 and 130 are the run tool's own; components that
// stop the run for a reason of their own use these.
#pragma once
#include <stdint.h>

namespace cos::exit_status {

/// A fault (the kernel's status for an essential component it stops), or a
/// component that gave up: a VMM that cannot build or run its VM, the booter
/// that cannot build an essential component.
inline constexpr uint8_t kFailed = 4;
/// The VMM's guest reset the machine (a reboot: i8042 reset line, port 0xcf9).
inline constexpr uint8_t kGuestReset = 6;
/// The VMM's guest triple-faulted (the vCPU shut down).
inline constexpr uint8_t kGuestTripleFault = 8;
/// The VMM's guest kernel panicked (it printed Linux's "Kernel panic - not
/// syncing" line) and then reset (`panic=-1`) or stopped.
inline constexpr uint8_t kGuestPanic = 10;

/// The status QEMU's isa-debug-exit gives a write of `value`: (value << 1) | 1,
/// truncated to 8 bits as a process exit status is. Always odd.
constexpr uint8_t debug_exit(uint32_t value) { return static_cast<uint8_t>(((value << 1) | 1) & 0xff); }

}  // namespace cos::exit_status
