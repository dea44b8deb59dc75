// The kernel console (COM1) and machine stop: the emulator-specific exits
// that `./cos run` understands.
#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "kernel/platform.hpp"
#include "x86_64/serial.hpp"

namespace cos::platform {

void console_write(const char* s, size_t len) { x86::serial::write(s, len); }
bool console_ready() { return x86::serial::transmit_ready(); }
bool console_poll(uint8_t& byte) { return x86::serial::receive(byte); }
unsigned console_irq() { return 4; }  // COM1 on the ISA bus
void console_input_enable(bool on) {
  x86::serial::receive_interrupt(on);
  irq_mask(console_irq(), !on);
}

void stop(StopReason why) {
  x86::cli();
  if (why == StopReason::clean) kprintf("cos: shutdown: clean\n");
  x86::serial::drain();
  // QEMU isa-debug-exit (iobase 0xf4): exit status = (value << 1) | 1.
  x86::outl(0xf4, why == StopReason::clean ? 0x10 : why == StopReason::panic ? 0x11 : 0x12);
  // Bochs: the string "Shutdown" on port 0x8900 ends the simulation.
  for (const char* p = "Shutdown"; *p; ++p) x86::outb(0x8900, static_cast<uint8_t>(*p));
  // ACPI PM1a control on QEMU's PIIX4 (SLP_TYP=0, SLP_EN): a last resort.
  x86::outw(0x604, 0x2000);
  for (;;) asm volatile("cli; hlt");
}

}  // namespace cos::platform
