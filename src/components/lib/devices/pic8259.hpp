// cos::dev::Pic8259Pair — the two cascaded Intel 8259A programmable
// interrupt controllers of a PC (Intel 8259A datasheet, order no. 231468):
// master at ports 0x20/0x21 (IRQ 0-7), slave at 0xa0/0xa1 (IRQ 8-15)
// cascaded on the master's IR2, plus the edge/level control registers
// (ELCR, ports 0x4d0/0x4d1, as on the PIIX/ICH south bridges).
//
// Implemented: the ICW1-ICW4 initialisation sequence (single/cascade, ICW4,
// vector base, special fully nested mode, auto-EOI), OCW1 (mask), OCW2
// (non-specific/specific EOI, rotate on EOI, set priority, rotate in
// auto-EOI), OCW3 (read IRR/ISR, poll, special mask), edge and level
// triggering (ELCR bits or ICW1.LTIM), spurious IRQ 7/15, and the INTA
// cycle (pending_vector / acknowledge) through which the vCPU takes the
// interrupt.
//
// Edge inputs latch the rising edge in IRR until it is acknowledged (the
// latch survives the line dropping again, so a device may pulse its line).
// Level inputs follow the line. The slave's INTR output drives the master's
// IR2.
//
// Initial state: as a PC BIOS leaves it — initialised in cascade mode with
// vector bases 0x08 and 0x70, every input masked except the cascade.
#pragma once
#include <stdint.h>

#include "devices/device.hpp"

namespace cos::dev {

class Pic8259Pair final : public PortDevice, public IrqLine, public ExtIntSource {
 public:
  static constexpr uint16_t kMasterBase = 0x20, kSlaveBase = 0xa0, kElcrBase = 0x4d0;

  Pic8259Pair();

  /// ISA IRQ `irq` (0..15) changes level (IrqLine).
  void set_irq(unsigned irq, bool level) override;

  /// ExtIntSource: the vector an INTA cycle would return, or -1 while the
  /// master's INTR output is low.
  int pending_vector() const override;
  /// ExtIntSource: the INTA cycle. Sets ISR (unless auto-EOI), clears an
  /// edge request, returns the vector; with nothing pending (the request
  /// went away) the spurious vector of IR7 (master) or IR15 (slave).
  uint8_t acknowledge() override;
  /// True while the master's INTR output is asserted.
  bool intr() const { return pending_vector() >= 0; }

  // PortDevice: 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1 (byte accesses).
  uint32_t io_read(uint16_t port, unsigned size) override;
  void io_write(uint16_t port, unsigned size, uint32_t value) override;

  // Inspection (tests, debugging): chip 0 = master, 1 = slave.
  uint8_t irr(unsigned chip) const { return chip_[chip & 1].irr; }
  uint8_t isr(unsigned chip) const { return chip_[chip & 1].isr; }
  uint8_t imr(unsigned chip) const { return chip_[chip & 1].imr; }
  uint8_t vector_base(unsigned chip) const { return chip_[chip & 1].irq_base; }
  uint8_t elcr(unsigned chip) const { return chip_[chip & 1].elcr; }

 private:
  struct Chip {
    uint8_t irr = 0, imr = 0, isr = 0;
    uint8_t line = 0;  // input levels
    uint8_t priority_add = 0;
    uint8_t irq_base = 0;
    uint8_t elcr = 0, elcr_mask = 0;
    uint8_t init_state = 0;  // 0 ready, 1 expect ICW2, 2 ICW3, 3 ICW4
    bool read_isr = false, poll = false, special_mask = false;
    bool auto_eoi = false, rotate_on_auto_eoi = false, special_fully_nested = false;
    bool init4 = false, single = false, ltim = false;
    bool master = false;

    bool level_mode(unsigned irq) const { return ltim || ((elcr >> irq) & 1); }
    int priority(uint8_t mask) const;
    int highest() const;  // -1 if no request beats the in-service ones
    void input(unsigned irq, bool level);
    void intack(unsigned irq);
    void write_command(uint8_t v);
    void write_data(uint8_t v);
    void reset_for_icw1(uint8_t icw1);
  };

  void update_cascade();
  uint8_t poll_read(unsigned chip);

  Chip chip_[2];
};

}  // namespace cos::dev
