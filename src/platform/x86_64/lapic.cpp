#include "x86_64/lapic.hpp"

#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/idt.hpp"
#include "x86_64/layout.hpp"

namespace cos::x86::lapic {
namespace {

// xAPIC register offsets (Intel SDM Vol. 3A, table 11-1).
constexpr uint32_t kRegId = 0x020, kRegIcrLow = 0x300, kRegIcrHigh = 0x310;
// ICR fields (SDM Vol. 3A, 11.6.1): delivery mode INIT (101b) and start-up
// (110b), level assert, delivery status (send pending).
constexpr uint32_t kIcrInit = 5u << 8, kIcrStartup = 6u << 8, kIcrAssert = 1u << 14, kIcrPending = 1u << 12;
constexpr uint32_t kRegEoi = 0x0b0, kRegSvr = 0x0f0, kRegLvtTimer = 0x320,
                   kRegTimerInitial = 0x380, kRegTimerCurrent = 0x390, kRegTimerDivide = 0x3e0;
constexpr uint32_t kSvrEnable = 1u << 8;
constexpr uint32_t kLvtMasked = 1u << 16, kLvtPeriodic = 1u << 17;
constexpr uint32_t kDivideBy16 = 0x3;

// 8254 PIT (Intel 82C54 datasheet): 1.193182 MHz input clock.
constexpr uint32_t kPitHz = 1193182;
constexpr uint16_t kPitCh2 = 0x42, kPitCmd = 0x43, kPort61 = 0x61;

volatile uint32_t* mmio;
uint32_t g_ticks_per_ms;
uint64_t g_tsc_per_us = 1;
uint64_t g_tsc_base;
uint16_t g_pic_mask = 0xffff;
/// The timer's initial count for the kernel tick (init()).
uint32_t g_timer_initial;

void pic_write_mask() {
  uint16_t m = g_pic_mask;
  if ((m & 0xff00) != 0xff00) m &= static_cast<uint16_t>(~(1u << 2));  // cascade
  outb(0x21, static_cast<uint8_t>(m));
  outb(0xa1, static_cast<uint8_t>(m >> 8));
}

// Reads the in-service register of a PIC (OCW3 0x0b, 8259A datasheet).
uint8_t pic_isr(uint16_t cmd_port) {
  outb(cmd_port, 0x0b);
  return inb(cmd_port);
}

uint32_t read(uint32_t reg) { return mmio[reg / 4]; }
void write(uint32_t reg, uint32_t v) { mmio[reg / 4] = v; }

void pic_mask_all() {
  // ICW1..ICW4 remap master to kVectorPicBase, slave to +8, then mask all.
  outb(0x20, 0x11);
  outb(0xa0, 0x11);
  outb(0x21, kVectorPicBase);
  outb(0xa1, kVectorPicBase + 8);
  outb(0x21, 0x04);
  outb(0xa1, 0x02);
  outb(0x21, 0x01);
  outb(0xa1, 0x01);
  outb(0x21, 0xff);
  outb(0xa1, 0xff);
}

// Busy-waits `ms` milliseconds on PIT channel 2 (gate on port 0x61 bit 0,
// output on bit 5), mode 0 one-shot.
void pit_wait_ms(uint32_t ms) {
  uint32_t count = kPitHz / 1000 * ms;
  uint8_t p61 = inb(kPort61);
  outb(kPort61, static_cast<uint8_t>((p61 & ~0x02) | 0x01));  // gate on, speaker off
  outb(kPitCmd, 0xb0);                                        // ch2, lo/hi, mode 0, binary
  outb(kPitCh2, static_cast<uint8_t>(count));
  outb(kPitCh2, static_cast<uint8_t>(count >> 8));
  // Re-trigger the gate so counting starts now.
  p61 = inb(kPort61);
  outb(kPort61, static_cast<uint8_t>(p61 & ~0x01));
  outb(kPort61, static_cast<uint8_t>(p61 | 0x01));
  while ((inb(kPort61) & 0x20) == 0) {
  }
}

}  // namespace

void init(uint32_t period_us) {
  pic_mask_all();
  uint64_t base = rdmsr(Msr::apic_base) & ~0xfffull;
  mmio = phys_to_virt<volatile uint32_t>(base);
  wrmsr(Msr::apic_base, rdmsr(Msr::apic_base) | (1u << 11));  // global enable
  write(kRegSvr, kSvrEnable | kVectorSpurious);

  write(kRegTimerDivide, kDivideBy16);
  write(kRegLvtTimer, kLvtMasked | kVectorTimer);
  constexpr uint32_t kCalibrateMs = 10;
  write(kRegTimerInitial, 0xffffffff);
  uint64_t tsc0 = rdtsc();
  pit_wait_ms(kCalibrateMs);
  uint32_t elapsed = 0xffffffff - read(kRegTimerCurrent);
  uint64_t tsc1 = rdtsc();
  g_tsc_per_us = (tsc1 - tsc0) / (kCalibrateMs * 1000);
  if (g_tsc_per_us == 0) g_tsc_per_us = 1;
  g_tsc_base = tsc0;
  write(kRegTimerInitial, 0);
  g_ticks_per_ms = elapsed / kCalibrateMs;
  if (g_ticks_per_ms == 0) g_ticks_per_ms = 1;

  uint64_t initial = static_cast<uint64_t>(g_ticks_per_ms) * period_us / 1000;
  if (initial == 0) initial = 1;
  g_timer_initial = initial > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(initial);
  start_timer_this_cpu();
}

void stop_timer_this_cpu() { write(kRegTimerInitial, 0); }

void start_timer_this_cpu() {
  write(kRegTimerDivide, kDivideBy16);
  write(kRegLvtTimer, kLvtPeriodic | kVectorTimer);
  write(kRegTimerInitial, g_timer_initial);
}

void eoi() { write(kRegEoi, 0); }
uint32_t id() { return read(kRegId) >> 24; }
void enable_this_cpu() { write(kRegSvr, kSvrEnable | kVectorSpurious); }

void delay_us(uint64_t us) {
  const uint64_t end = rdtsc() + us * g_tsc_per_us;
  while (rdtsc() < end) asm volatile("pause");
}

namespace {
/// Sends one IPI and waits (at most 1 ms) until the LAPIC has sent it.
bool send_ipi(uint32_t apic_id, uint32_t low) {
  write(kRegIcrHigh, apic_id << 24);
  write(kRegIcrLow, low);
  const uint64_t end = rdtsc() + 1000 * g_tsc_per_us;
  while (read(kRegIcrLow) & kIcrPending)
    if (rdtsc() > end) return false;
  return true;
}
}  // namespace

bool send_init(uint32_t apic_id) { return send_ipi(apic_id, kIcrInit | kIcrAssert); }
bool send_startup(uint32_t apic_id, uint8_t page) { return send_ipi(apic_id, kIcrStartup | kIcrAssert | page); }
bool send_fixed(uint32_t apic_id, uint8_t vector) { return send_ipi(apic_id, kIcrAssert | vector); }
uint32_t ticks_per_ms() { return g_ticks_per_ms; }
uint64_t tsc_per_us() { return g_tsc_per_us; }
uint64_t tsc_to_us(uint64_t tsc) { return (tsc - g_tsc_base) / g_tsc_per_us; }

void pic_mask(unsigned line, bool masked) {
  if (line >= 16) return;
  if (masked) g_pic_mask = static_cast<uint16_t>(g_pic_mask | (1u << line));
  else g_pic_mask = static_cast<uint16_t>(g_pic_mask & ~(1u << line));
  pic_write_mask();
}

bool pic_any_unmasked() { return g_pic_mask != 0xffff; }

bool pic_ack(unsigned line) {
  // IRQ 7 and 15 may be spurious: the ISR bit tells (8259A datasheet).
  if (line == 7 && !(pic_isr(0x20) & 0x80)) return false;
  if (line == 15 && !(pic_isr(0xa0) & 0x80)) {
    outb(0x20, 0x20);  // the master did see the cascade interrupt
    return false;
  }
  if (line >= 8) outb(0xa0, 0x20);
  outb(0x20, 0x20);
  return true;
}

}  // namespace cos::x86::lapic
