#include "devices/pic8259.hpp"

namespace cos::dev {

Pic8259Pair::Pic8259Pair() {
  chip_[0].master = true;
  chip_[0].elcr_mask = 0xf8;  // IRQ 0, 1, 2 are always edge
  chip_[1].elcr_mask = 0xde;  // IRQ 8 and 13 are always edge
  // The state a PC BIOS leaves (SeaBIOS pic_setup): vectors 0x08 and 0x70,
  // everything masked but the cascade.
  chip_[0].irq_base = 0x08;
  chip_[1].irq_base = 0x70;
  chip_[0].imr = 0xfb;
  chip_[1].imr = 0xff;
}

// Priority (0 = highest) of the highest-priority bit in `mask` given the
// current rotation, 8 if none.
int Pic8259Pair::Chip::priority(uint8_t mask) const {
  if (!mask) return 8;
  int p = 0;
  while (!(mask & (1u << ((p + priority_add) & 7)))) ++p;
  return p;
}

int Pic8259Pair::Chip::highest() const {
  int p = priority(static_cast<uint8_t>(irr & ~imr));
  if (p == 8) return -1;
  uint8_t in_service = isr;
  if (special_mask) in_service &= static_cast<uint8_t>(~imr);  // masked levels do not block
  // Special fully nested mode: a slave interrupt in service does not block
  // further (higher-priority) interrupts from the slave.
  if (special_fully_nested && master) in_service &= static_cast<uint8_t>(~(1u << 2));
  if (p < priority(in_service)) return (p + priority_add) & 7;
  return -1;
}

void Pic8259Pair::Chip::input(unsigned irq, bool level) {
  uint8_t bit = static_cast<uint8_t>(1u << irq);
  if (level_mode(irq)) {
    if (level)
      irr |= bit;
    else
      irr &= static_cast<uint8_t>(~bit);
  } else if (level && !(line & bit)) {
    irr |= bit;  // rising edge
  }
  if (level)
    line |= bit;
  else
    line &= static_cast<uint8_t>(~bit);
}

void Pic8259Pair::Chip::intack(unsigned irq) {
  uint8_t bit = static_cast<uint8_t>(1u << irq);
  if (auto_eoi) {
    if (rotate_on_auto_eoi) priority_add = (irq + 1) & 7;
  } else {
    isr |= bit;
  }
  if (!level_mode(irq)) irr &= static_cast<uint8_t>(~bit);
}

void Pic8259Pair::Chip::reset_for_icw1(uint8_t icw1) {
  // 8259A datasheet, "Initialization Command Words": ICW1 clears the mask
  // register, resets the edge-sense latches, assigns IR7 the lowest
  // priority, clears special mask mode and selects IRR for status reads.
  irr = 0;
  for (unsigned i = 0; i < 8; ++i)
    if (((icw1 & 0x08) || ((elcr >> i) & 1)) && ((line >> i) & 1)) irr |= static_cast<uint8_t>(1u << i);
  imr = isr = 0;
  priority_add = 0;
  read_isr = poll = special_mask = false;
  auto_eoi = rotate_on_auto_eoi = special_fully_nested = false;
  init4 = icw1 & 0x01;
  single = icw1 & 0x02;
  ltim = icw1 & 0x08;
  init_state = 1;
}

void Pic8259Pair::Chip::write_command(uint8_t v) {
  if (v & 0x10) {  // ICW1
    reset_for_icw1(v);
    return;
  }
  if (v & 0x08) {  // OCW3
    if (v & 0x04) poll = true;
    if (v & 0x02) read_isr = v & 0x01;
    if (v & 0x40) special_mask = (v >> 5) & 1;
    return;
  }
  // OCW2: R SL EOI in bits 7-5, level in 2-0.
  unsigned cmd = v >> 5;
  switch (cmd) {
    case 0:  // rotate in auto-EOI mode (clear)
    case 4:  // rotate in auto-EOI mode (set)
      rotate_on_auto_eoi = cmd == 4;
      break;
    case 1:    // non-specific EOI
    case 5: {  // rotate on non-specific EOI
      int p = priority(isr);
      if (p != 8) {
        unsigned irq = (p + priority_add) & 7;
        isr &= static_cast<uint8_t>(~(1u << irq));
        if (cmd == 5) priority_add = (irq + 1) & 7;
      }
      break;
    }
    case 3:  // specific EOI
      isr &= static_cast<uint8_t>(~(1u << (v & 7)));
      break;
    case 6:  // set priority: IR(v&7) becomes the lowest
      priority_add = (v + 1) & 7;
      break;
    case 7:  // rotate on specific EOI
      isr &= static_cast<uint8_t>(~(1u << (v & 7)));
      priority_add = (v + 1) & 7;
      break;
    default:  // 2: no operation
      break;
  }
}

void Pic8259Pair::Chip::write_data(uint8_t v) {
  switch (init_state) {
    case 0:  // OCW1
      imr = v;
      break;
    case 1:  // ICW2: vector base (T7-T3)
      irq_base = v & 0xf8;
      init_state = single ? (init4 ? 3 : 0) : 2;
      break;
    case 2:  // ICW3: cascade wiring (IR2 on a PC); nothing to keep
      init_state = init4 ? 3 : 0;
      break;
    case 3:  // ICW4: SFNM (bit 4), AEOI (bit 1); uPM and buffered mode ignored
      special_fully_nested = (v >> 4) & 1;
      auto_eoi = (v >> 1) & 1;
      init_state = 0;
      break;
  }
}

void Pic8259Pair::update_cascade() {
  chip_[0].input(2, chip_[1].highest() >= 0);
}

void Pic8259Pair::set_irq(unsigned irq, bool level) {
  if (irq >= 16) return;
  if (irq >= 8) {
    chip_[1].input(irq - 8, level);
    update_cascade();
  } else if (irq != 2) {
    chip_[0].input(irq, level);
  }
}

int Pic8259Pair::pending_vector() const {
  int irq = chip_[0].highest();
  if (irq < 0) return -1;
  if (irq == 2) {
    int irq2 = chip_[1].highest();
    return chip_[1].irq_base + (irq2 >= 0 ? irq2 : 7);
  }
  return chip_[0].irq_base + irq;
}

uint8_t Pic8259Pair::acknowledge() {
  int irq = chip_[0].highest();
  uint8_t vector;
  if (irq < 0) {
    vector = static_cast<uint8_t>(chip_[0].irq_base + 7);  // spurious IRQ 7: ISR untouched
  } else if (irq == 2) {
    int irq2 = chip_[1].highest();
    if (irq2 >= 0) {
      chip_[1].intack(static_cast<unsigned>(irq2));
      vector = static_cast<uint8_t>(chip_[1].irq_base + irq2);
    } else {
      vector = static_cast<uint8_t>(chip_[1].irq_base + 7);  // spurious IRQ 15
    }
    chip_[0].intack(2);
    // The slave drops INTR during the INTA cycle; a request still pending
    // afterwards raises it again, a new edge on the master's IR2.
    chip_[0].input(2, false);
  } else {
    chip_[0].intack(static_cast<unsigned>(irq));
    vector = static_cast<uint8_t>(chip_[0].irq_base + irq);
  }
  update_cascade();
  return vector;
}

uint8_t Pic8259Pair::poll_read(unsigned c) {
  // OCW3 poll: the next read returns 0x80 | level of the highest request
  // and acknowledges it (8259A datasheet, "The Poll Command").
  Chip& chip = chip_[c];
  chip.poll = false;
  int irq = chip.highest();
  if (irq < 0) return 0;
  chip.intack(static_cast<unsigned>(irq));
  update_cascade();
  return static_cast<uint8_t>(0x80 | irq);
}

uint32_t Pic8259Pair::io_read(uint16_t port, unsigned) {
  if (port == kElcrBase || port == kElcrBase + 1) return chip_[port - kElcrBase].elcr;
  unsigned c = port >= kSlaveBase ? 1 : 0;
  Chip& chip = chip_[c];
  if (chip.poll) return poll_read(c);
  if ((port & 1) == 0) return chip.read_isr ? chip.isr : chip.irr;
  return chip.imr;
}

void Pic8259Pair::io_write(uint16_t port, unsigned, uint32_t value) {
  uint8_t v = static_cast<uint8_t>(value);
  if (port == kElcrBase || port == kElcrBase + 1) {
    Chip& chip = chip_[port - kElcrBase];
    chip.elcr = v & chip.elcr_mask;
    // Lines switched to level follow their input from now on.
    for (unsigned i = 0; i < 8; ++i)
      if (chip.level_mode(i)) {
        uint8_t bit = static_cast<uint8_t>(1u << i);
        chip.irr = static_cast<uint8_t>((chip.irr & ~bit) | (chip.line & bit));
      }
    update_cascade();
    return;
  }
  Chip& chip = chip_[port >= kSlaveBase ? 1 : 0];
  if ((port & 1) == 0)
    chip.write_command(v);
  else
    chip.write_data(v);
  update_cascade();
}

}  // namespace cos::dev
