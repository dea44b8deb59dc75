// Local APIC timer (xAPIC MMIO) and the legacy 8259 PIC, which we mask.
// Intel SDM Vol. 3A, chapter 11 "Advanced Programmable Interrupt Controller".
#pragma once
#include <stdint.h>

namespace cos::x86::lapic {

/// Masks both 8259 PICs (remapped to kVectorPicBase so spurious IRQs are
/// recognisable), enables the LAPIC, calibrates its timer against PIT channel 2
/// and starts it in periodic mode with a period of `period_us` microseconds.
void init(uint32_t period_us);
/// Signals end of interrupt to the LAPIC.
void eoi();
/// Timer ticks per millisecond measured at init (for diagnostics).
uint32_t ticks_per_ms();

}  // namespace cos::x86::lapic
