#include "x86_64/serial.hpp"

#include "x86_64/cpu.hpp"

namespace cos::x86::serial {
namespace {
// 8250 register offsets from the COM1 base (PC16550D datasheet, table 2).
constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kThr = 0, kIer = 1, kDll = 0, kDlm = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
constexpr uint16_t kRbr = 0, kIir = 2;
constexpr uint8_t kLsrDr = 1 << 0;
constexpr uint8_t kLsrThre = 1 << 5;
constexpr uint8_t kLsrTemt = 1 << 6;
constexpr uint8_t kLcrDlab = 1 << 7;

void put(char c) {
  while ((inb(kCom1 + kLsr) & kLsrThre) == 0) {
  }
  outb(kCom1 + kThr, static_cast<uint8_t>(c));
}
}  // namespace

void init() {
  outb(kCom1 + kIer, 0x00);
  outb(kCom1 + kLcr, kLcrDlab);
  outb(kCom1 + kDll, 1);  // divisor 1 = 115200 baud
  outb(kCom1 + kDlm, 0);
  outb(kCom1 + kLcr, 0x03);  // 8 data bits, no parity, 1 stop bit
  outb(kCom1 + kFcr, 0xc7);  // enable and clear FIFOs
  outb(kCom1 + kMcr, 0x03);  // DTR, RTS
}

void write(const char* s, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (s[i] == '\n') put('\r');
    put(s[i]);
  }
}

bool transmit_ready() { return (inb(kCom1 + kLsr) & kLsrThre) != 0; }

bool receive(uint8_t& byte) {
  if (!(inb(kCom1 + kLsr) & kLsrDr)) {
    // Reading IIR acknowledges the interrupt on UARTs that keep their line
    // up until it is read (Bochs' does), so the next byte makes a new edge.
    (void)inb(kCom1 + kIir);
    return false;
  }
  byte = inb(kCom1 + kRbr);
  return true;
}

void receive_interrupt(bool on) {
  outb(kCom1 + kFcr, on ? 0x01 : 0xc1);  // FIFOs on (nothing cleared: typed-ahead bytes stay); trigger 1 / 14 bytes
  outb(kCom1 + kMcr, on ? 0x0b : 0x03);  // DTR, RTS (+ OUT2)
  outb(kCom1 + kIer, on ? 0x01 : 0x00);  // received data available
}

void drain() {
  while ((inb(kCom1 + kLsr) & kLsrTemt) == 0) {
  }
}

}  // namespace cos::x86::serial
