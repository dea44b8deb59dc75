// Application processors: found in the ACPI MADT and started with
// INIT-SIPI-SIPI (Intel SDM Vol. 3A, 9.4.4 "MP Initialization Example").
// This step of SMP support brings every AP up to 64-bit mode with its own
// GDT, TSS and IST stacks, the shared IDT, the kernel's page tables and its
// own LAPIC timer, and then into the scheduler with its own run queue
// (docs/kernel.md, "Processors").
#pragma once
#include <stdint.h>

namespace cos::x86 {

/// Finds the processors and starts the application processors, printing
/// one line per CPU and a summary. Call after lapic::init (it needs the
/// TSC calibration) on the boot processor. Returns the number of CPUs
/// online, the boot processor included.
unsigned smp_init();

}  // namespace cos::x86
