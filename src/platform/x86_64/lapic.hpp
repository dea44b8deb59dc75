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
/// This CPU's local APIC ID (xAPIC ID register bits 31:24).
uint32_t id();
/// Software-enables this CPU's LAPIC (spurious vector kVectorSpurious): for
/// an application processor, whose LAPIC init() did not touch.
void enable_this_cpu();
/// Starts this CPU's LAPIC timer with the period init() calibrated
/// (periodic, kVectorTimer): for an application processor, whose timer
/// init() did not touch. Every LAPIC timer runs from the same bus clock
/// (Intel SDM Vol. 3A, 11.5.4 "APIC Timer").
void start_timer_this_cpu();
/// Stops this CPU's LAPIC timer (an idle application processor: nothing
/// of its own to count, and an IPI wakes it).
void stop_timer_this_cpu();
/// Sends a fixed interrupt with `vector` to the CPU with local APIC
/// `apic_id` (physical destination, edge); false if the LAPIC did not send
/// it within 1 ms (SDM Vol. 3A, 11.6.1).
bool send_fixed(uint32_t apic_id, uint8_t vector);
/// Busy-waits `us` microseconds on the TSC (valid after init()).
void delay_us(uint64_t us);
/// Sends an INIT IPI (level assert) to the CPU with local APIC `apic_id`;
/// false if the LAPIC did not send it within 1 ms (Intel SDM Vol. 3A,
/// 9.4.4.1 "Typical BSP Initialization Sequence", 11.6.1 "Interrupt Command
/// Register").
bool send_init(uint32_t apic_id);
/// Sends a start-up IPI: the CPU starts in real mode at `page` * 4 KiB.
bool send_startup(uint32_t apic_id, uint8_t page);
/// Timer ticks per millisecond measured at init (for diagnostics).
uint32_t ticks_per_ms();
/// TSC cycles per microsecond measured at init (at least 1).
uint64_t tsc_per_us();
/// Microseconds since init for a TSC value.
uint64_t tsc_to_us(uint64_t tsc);

/// Masks or unmasks ISA line `line` at the 8259 PIC pair (the cascade line 2
/// is unmasked whenever a slave line is).
void pic_mask(unsigned line, bool masked);
/// True if any line is unmasked.
bool pic_any_unmasked();
/// For a PIC vector: true if the interrupt is real (not spurious), and then
/// acknowledges it (non-specific EOI to the slave and master as needed).
bool pic_ack(unsigned line);

}  // namespace cos::x86::lapic
