// Global descriptor table and task-state segment.
#pragma once
#include <stdint.h>

#include "cos/limits.hpp"

namespace cos::x86 {

/// Interrupt-stack-table slots (Intel SDM Vol. 3A, 7.14.5): the vectors that
/// can arrive at any instruction, including the ones of the system-call
/// entry and exit that run on a user-chosen RSP, get stacks of their own.
enum IstSlot : uint8_t { kIstDoubleFault = 1, kIstDebug = 2, kIstNmi = 3, kIstMachineCheck = 4 };

/// CPUs the kernel can bring up (the composer's `[system] cpus` limit).
inline constexpr unsigned kMaxCpus = cos_limits::kMaxCpus;

/// Loads CPU `cpu`'s GDT (kernel/user code and data, its own TSS) and its
/// TSS with its own IST stacks (each CPU needs its own TSS: LTR marks the
/// descriptor busy, and a CPU's IST stacks must not be another's).
/// `cpu` < kMaxCpus; CPU 0 is the boot processor.
void gdt_init(unsigned cpu);
/// Sets the stack this CPU switches to on interrupts from ring 3 (its
/// TSS.RSP0: the end of the running thread's register frame).
void tss_set_rsp0(uint64_t top);

}  // namespace cos::x86
