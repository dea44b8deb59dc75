// The register frame saved on every entry from user mode. Its layout is
// fixed by entry.S: general-purpose registers pushed by the stub, then the
// vector and error code, then the interrupt frame the CPU pushes (Intel SDM
// Vol. 3A, 6.14.1 "64-Bit Mode Stack Frame").
#pragma once
#include <stdint.h>

namespace cos::x86 {

struct Regs {
  uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
  uint64_t vector, error;
  uint64_t rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(Regs) == 22 * 8);

/// Pseudo-vector recorded in Regs::vector for entries through `syscall`.
inline constexpr uint64_t kSyscallVector = 0x100;

// GDT selectors (gdt.cpp). STAR requires user data right below user code.
inline constexpr uint16_t kKernelCs = 0x08, kKernelDs = 0x10, kUserDs = 0x18 | 3,
                          kUserCs = 0x20 | 3, kTssSel = 0x28;

/// RFLAGS for a new user thread: IF set, reserved bit 1 set.
inline constexpr uint64_t kUserRflags = 0x202;

}  // namespace cos::x86
