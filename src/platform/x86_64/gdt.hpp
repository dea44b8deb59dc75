// Global descriptor table and task-state segment.
#pragma once
#include <stdint.h>

namespace cos::x86 {

/// Loads the kernel GDT (kernel/user code and data, TSS) and the TSS with a
/// double-fault stack in IST1.
void gdt_init();
/// Sets the stack the CPU switches to on interrupts from ring 3 (TSS.RSP0).
void tss_set_rsp0(uint64_t top);

}  // namespace cos::x86
