// cos::dev::IsaIrqRouter — the ISA interrupt lines of a PC: every ISA IRQ
// goes to the 8259A pair (IRQ n -> IR n) and to the I/O APIC pin it is wired
// to. Like real chipsets (and the MP table MpTable writes), ISA IRQ 0 (the
// PIT) is connected to I/O APIC INTIN2 and IRQ 2 (the cascade, never raised
// by a device) to no I/O APIC pin; all other IRQs n to INTIN n.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

/// The I/O APIC input (GSI) ISA IRQ `irq` is wired to, or -1 (IRQ 2).
constexpr int isa_irq_to_gsi(unsigned irq) {
  return irq == 0 ? 2 : irq == 2 ? -1 : irq < 16 ? static_cast<int>(irq) : -1;
}

class IsaIrqRouter final : public IrqLine {
 public:
  /// Either controller may be null (not present).
  IsaIrqRouter(IrqLine* pic, IrqLine* ioapic) : pic_(pic), ioapic_(ioapic) {}

  /// ISA IRQ `irq` (0..15) changes level.
  void set_irq(unsigned irq, bool level) override;

 private:
  IrqLine* pic_;
  IrqLine* ioapic_;
};

}  // namespace cos::dev
