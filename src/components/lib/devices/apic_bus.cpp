#include "devices/apic_bus.hpp"

#include "devices/local_apic.hpp"

namespace cos::dev {

bool decode_icr(uint32_t lo, uint32_t dest, Ipi& out) {
  unsigned mode = (lo >> 8) & 7;
  if (mode == 3 || mode == 7) return false;  // reserved in the ICR (SDM Figure 11-12)
  bool level_assert = (lo >> 14) & 1, trigger_level = (lo >> 15) & 1;
  // INIT level de-assert: not supported on Pentium 4 and later (SDM §11.6.1); ignored.
  if (mode == 5 && trigger_level && !level_assert) return false;
  out.msg.vector = static_cast<uint8_t>(lo & 0xff);
  out.msg.mode = static_cast<DeliveryMode>(mode);
  out.msg.logical = (lo >> 11) & 1;
  out.msg.level = false;  // IPIs are edge-triggered: the trigger bit only matters for INIT de-assert
  out.msg.destination = dest;
  out.shorthand = static_cast<IcrShorthand>((lo >> 18) & 3);
  return true;
}

bool ApicBus::add(LocalApic& apic) {
  if (count_ == kMaxApics) return false;
  apics_[count_++] = &apic;
  apic.set_bus(this);
  return true;
}

int ApicBus::index_of(const LocalApic& apic) const {
  for (unsigned i = 0; i < count_; ++i)
    if (apics_[i] == &apic) return static_cast<int>(i);
  return -1;
}

bool ApicBus::addressed(const LocalApic& a, const ApicMessage& m, bool from_ioapic) const {
  if (!a.hw_enabled()) return false;
  uint32_t dest = m.destination;
  // An 8-bit destination of 0xff (I/O APIC, MSI) is a broadcast for an x2APIC too.
  if (from_ioapic && a.x2apic_mode() && dest == 0xff) dest = 0xffffffff;
  return a.accepts_destination(dest, m.logical);
}

bool ApicBus::give(unsigned index, const ApicMessage& m) {
  bool took = apics_[index]->receive(m);
  if (took && wakeup_) wakeup_(wakeup_ctx_, index);
  return took;
}

bool ApicBus::deliver(const ApicMessage& msg) {
  Ipi ipi;
  ipi.msg = msg;
  bool any = false;
  if (msg.mode == DeliveryMode::lowest_priority) return route(nullptr, ipi) != 0;
  for (unsigned i = 0; i < count_; ++i)
    if (addressed(*apics_[i], msg, true)) any = give(i, msg) || any;
  return any;
}

void ApicBus::send_ipi(LocalApic& from, uint32_t icr_lo, uint32_t dest) {
  Ipi ipi;
  if (decode_icr(icr_lo, dest, ipi)) route(&from, ipi);
}

unsigned ApicBus::route(const LocalApic* from, const Ipi& ipi) {
  const ApicMessage& m = ipi.msg;
  bool targets[kMaxApics] = {};
  unsigned n = 0;
  for (unsigned i = 0; i < count_; ++i) {
    const LocalApic& a = *apics_[i];
    bool t = false;
    switch (ipi.shorthand) {
      case IcrShorthand::none: t = addressed(a, m, from == nullptr); break;
      case IcrShorthand::self: t = &a == from; break;
      case IcrShorthand::all_including_self: t = from != nullptr; break;
      case IcrShorthand::all_excluding_self: t = from != nullptr && &a != from; break;
    }
    targets[i] = t;
    n += t;
  }
  if (n == 0) return 0;
  if (m.mode == DeliveryMode::lowest_priority && ipi.shorthand == IcrShorthand::none) {
    // One target: the lowest TPR class among the enabled ones, round robin
    // among equals starting after the one chosen last.
    int best = -1;
    unsigned best_class = 16;
    for (unsigned k = 1; k <= count_; ++k) {
      unsigned i = (last_lowest_ + k) % count_;
      const LocalApic& a = *apics_[i];
      if (!targets[i] || !a.sw_enabled()) continue;
      unsigned cls = a.tpr() >> 4;
      if (cls < best_class) best = static_cast<int>(i), best_class = cls;
    }
    if (best < 0) return 0;
    last_lowest_ = static_cast<unsigned>(best);
    return give(static_cast<unsigned>(best), m) ? 1 : 0;
  }
  unsigned took = 0;
  for (unsigned i = 0; i < count_; ++i)
    if (targets[i] && give(i, m)) ++took;
  return took;
}

}  // namespace cos::dev
