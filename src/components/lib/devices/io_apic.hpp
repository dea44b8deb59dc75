// cos::dev::IoApic — an Intel 82093AA I/O APIC (82093AA datasheet, order
// no. 290566) with 24 inputs, version 0x11, memory-mapped at 0xfec00000:
// IOREGSEL at offset 0x00, IOWIN at offset 0x10.
//
// Indirect registers: 0x00 IOAPICID (bits 27:24), 0x01 IOAPICVER
// (0x00170011: 24 entries, version 0x11), 0x02 IOAPICARB, 0x10-0x3f the
// redirection table (entry n: low dword at 0x10 + 2n, high dword at
// 0x11 + 2n) — vector, delivery mode, destination mode, delivery status
// (always idle), polarity, remote IRR, trigger mode, mask, destination.
//
// Inputs (IrqLine::set_irq with the logical level; the polarity bit is
// stored for the guest but the board is assumed to present asserted = true,
// as QEMU does): an edge entry sends its message on a rising edge while
// unmasked (edges on masked pins are lost, datasheet §3.2.4); a level entry
// sends it while the input is asserted, unmasked and remote IRR is clear,
// and sets remote IRR. The local APIC's EOI of a level-triggered vector
// (EoiListener::eoi) clears remote IRR of the entries with that vector and
// re-sends the message if the input is still asserted. Messages go to an
// ApicSink (the LocalApic, which checks the 8-bit destination).
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class IoApic final : public MmioDevice, public IrqLine, public EoiListener {
 public:
  static constexpr uint64_t kDefaultBase = 0xfec00000;
  static constexpr uint64_t kMmioSize = 0x1000;
  static constexpr unsigned kPins = 24;
  static constexpr uint32_t kVersion = 0x00170011;
  static constexpr uint64_t kMasked = 1u << 16, kRemoteIrr = 1u << 14, kLevel = 1u << 15;

  IoApic(ApicSink* sink, uint8_t id = 1);

  // MMIO: IOREGSEL (0x00) and IOWIN (0x10).
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  /// Input pin `pin` (0..23) changes level.
  void set_irq(unsigned pin, bool level) override;
  /// EOI broadcast from the local APIC for `vector`.
  void eoi(uint8_t vector) override;

  uint8_t id() const { return id_; }
  uint64_t entry(unsigned pin) const { return pin < kPins ? redir_[pin] : 0; }
  bool line(unsigned pin) const { return pin < kPins && ((lines_ >> pin) & 1); }

 private:
  uint32_t read_indirect(uint8_t index) const;
  void write_indirect(uint8_t index, uint32_t value);
  void send(unsigned pin);
  void service(unsigned pin);

  ApicSink* sink_;
  uint8_t id_;
  uint8_t regsel_ = 0;
  uint32_t lines_ = 0;
  uint64_t redir_[kPins];
};

}  // namespace cos::dev
