#include "lapic.hpp"

#include "console.hpp"
#include "cpu.hpp"
#include "idt.hpp"
#include "layout.hpp"

namespace cos::x86::lapic {
namespace {

// xAPIC register offsets (Intel SDM Vol. 3A, table 11-1).
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
  uint64_t base = rdmsr(kMsrApicBase) & ~0xfffull;
  mmio = phys_to_virt<volatile uint32_t>(base);
  wrmsr(kMsrApicBase, rdmsr(kMsrApicBase) | (1u << 11));  // global enable
  write(kRegSvr, kSvrEnable | kVectorSpurious);

  write(kRegTimerDivide, kDivideBy16);
  write(kRegLvtTimer, kLvtMasked | kVectorTimer);
  constexpr uint32_t kCalibrateMs = 10;
  write(kRegTimerInitial, 0xffffffff);
  pit_wait_ms(kCalibrateMs);
  uint32_t elapsed = 0xffffffff - read(kRegTimerCurrent);
  write(kRegTimerInitial, 0);
  g_ticks_per_ms = elapsed / kCalibrateMs;
  if (g_ticks_per_ms == 0) g_ticks_per_ms = 1;

  uint64_t initial = static_cast<uint64_t>(g_ticks_per_ms) * period_us / 1000;
  if (initial == 0) initial = 1;
  write(kRegLvtTimer, kLvtPeriodic | kVectorTimer);
  write(kRegTimerInitial, static_cast<uint32_t>(initial));
}

void eoi() { write(kRegEoi, 0); }
uint32_t ticks_per_ms() { return g_ticks_per_ms; }

}  // namespace cos::x86::lapic
