// Per-CPU data reached through GS in the kernel (KERNEL_GS_BASE holds its
// address while in user mode; entry code does `swapgs`). Offsets are used by
// entry.S and must match.
#pragma once
#include <stdint.h>

namespace cos::x86 {

struct PerCpu {
  uint64_t kernel_stack_top;  ///< offset 0: stack for kernel work
  uint64_t user_rsp;          ///< offset 8: scratch for syscall entry
  uint64_t regs_top;          ///< offset 16: end of the current thread's Regs (syscall pushes here)
};

PerCpu& percpu();
/// Points GS at this CPU's PerCpu (KERNEL_GS_BASE = 0 until the first swapgs).
void percpu_init();

}  // namespace cos::x86
