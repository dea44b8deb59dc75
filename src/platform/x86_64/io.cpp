// Kernel time, port I/O for components with I/O-port capabilities, and the
// ISA interrupt lines at the 8259 PIC pair.
#include "kernel/platform.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/lapic.hpp"

namespace cos::platform {

uint64_t time_us() { return x86::lapic::tsc_to_us(x86::rdtsc()); }

uint32_t port_in(uint16_t port, unsigned width) {
  uint32_t v = 0;
  if (width == 1) v = x86::inb(port);
  else if (width == 2) asm volatile("inw %1, %w0" : "=a"(v) : "Nd"(port));
  else asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
  return width == 2 ? (v & 0xffff) : v;
}

void port_out(uint16_t port, unsigned width, uint32_t value) {
  if (width == 1) x86::outb(port, static_cast<uint8_t>(value));
  else if (width == 2) x86::outw(port, static_cast<uint16_t>(value));
  else x86::outl(port, value);
}

void irq_mask(unsigned line, bool masked) { x86::lapic::pic_mask(line, masked); }
bool irqs_bound() { return x86::lapic::pic_any_unmasked(); }

}  // namespace cos::platform
