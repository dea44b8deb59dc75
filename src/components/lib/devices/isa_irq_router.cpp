#include "devices/isa_irq_router.hpp"

namespace cos::dev {

void IsaIrqRouter::set_irq(unsigned irq, bool level) {
  if (irq >= 16) return;
  if (pic_) pic_->set_irq(irq, level);
  int gsi = isa_irq_to_gsi(irq);
  if (ioapic_ && gsi >= 0) ioapic_->set_irq(static_cast<unsigned>(gsi), level);
}

}  // namespace cos::dev
