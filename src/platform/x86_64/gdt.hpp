// Global descriptor table and task-state segment.
#pragma once
#include <stdint.h>

namespace cos::x86 {

/// Interrupt-stack-table slots (Intel SDM Vol. 3A, 7.14.5): the vectors that
/// can arrive at any instruction, including the ones of the system-call
/// entry and exit that run on a user-chosen RSP, get stacks of their own.
enum IstSlot : uint8_t { kIstDoubleFault = 1, kIstDebug = 2, kIstNmi = 3, kIstMachineCheck = 4 };

/// Loads the kernel GDT (kernel/user code and data, TSS) and the TSS with
/// the IST stacks.
void gdt_init();
/// Sets the stack the CPU switches to on interrupts from ring 3 (TSS.RSP0).
void tss_set_rsp0(uint64_t top);

}  // namespace cos::x86
