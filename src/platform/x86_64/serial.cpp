#include "x86_64/serial.hpp"

#include "x86_64/cpu.hpp"

namespace cos::x86::serial {
namespace {
// 8250 register offsets from the COM1 base (PC16550D datasheet, table 2).
constexpr uint16_t kCom1 = 0x3f8;
constexpr uint16_t kThr = 0, kIer = 1, kDll = 0, kDlm = 1, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5;
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

void drain() {
  while ((inb(kCom1 + kLsr) & kLsrTemt) == 0) {
  }
}

}  // namespace cos::x86::serial
