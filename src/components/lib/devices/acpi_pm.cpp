#include "devices/acpi_pm.hpp"

namespace cos::dev {

uint32_t AcpiPm::timer_at(uint64_t now_ns) {
  // now_ns * 3579545 / 1e9 without overflowing 64 bits for centuries.
  uint64_t s = now_ns / 1000000000ull, ns = now_ns % 1000000000ull;
  return static_cast<uint32_t>(s * kTimerHz + ns * kTimerHz / 1000000000ull);
}

uint32_t AcpiPm::io_read(uint16_t port, unsigned size) {
  unsigned off = port - base_;
  uint32_t v;
  if (off >= 8 && off < 12) {
    v = timer_at(clock_.now_ns()) >> (8 * (off - 8));
  } else if (off < 2) {
    v = status_ >> (8 * off);
  } else if (off < 4) {
    v = enable_ >> (8 * (off - 2));
  } else if (off < 6) {
    v = control_ >> (8 * (off - 4));
  } else {
    v = ~0u;
  }
  return v & static_cast<uint32_t>(all_ones(size));
}

void AcpiPm::io_write(uint16_t port, unsigned size, uint32_t value) {
  unsigned off = port - base_;
  auto merge16 = [&](uint16_t& reg, unsigned byte) {
    if (size >= 2 && byte == 0) reg = static_cast<uint16_t>(value);
    else if (byte == 0) reg = static_cast<uint16_t>((reg & 0xff00) | (value & 0xff));
    else reg = static_cast<uint16_t>((reg & 0x00ff) | ((value & 0xff) << 8));
  };
  if (off < 2) {
    uint16_t w = 0;
    merge16(w, off);
    status_ = static_cast<uint16_t>(status_ & ~w);  // write-1-to-clear
  } else if (off < 4) {
    merge16(enable_, off - 2);
  } else if (off < 6) {
    merge16(control_, off - 4);
    control_ |= kSciEn;
    if ((control_ & kSlpEn) && ((control_ >> 10) & 7) == s5_ && off_) off_(off_ctx_);
    control_ = static_cast<uint16_t>(control_ & ~kSlpEn);
  }
}

}  // namespace cos::dev
