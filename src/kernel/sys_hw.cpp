// hw_derive, ioport_in, ioport_out, irq_bind.
#include "kernel/platform.hpp"
#include "cos/kernel_hardware.h"
#include "kernel/syscalls.hpp"

namespace cos::sys {
namespace {

bool in_range(const Capability& c, uint64_t first, uint64_t count) {
  return count > 0 && first >= c.w0 && first - c.w0 <= c.w1 && count <= c.w1 - (first - c.w0);
}

Error port_cap(Thread* t, uint64_t slot, uint64_t port, uint64_t width, uint64_t right) {
  Capability* c;
  Error e = caps(t).get(slot, ObjType::ioport, c, right);
  if (e != Error::ok) return e;
  if (width != 1 && width != 2 && width != 4) return Error::bad_argument;
  if (port > 0xffff || !in_range(*c, port, width)) return Error::out_of_range;
  if (cos_kernel_ports_overlap(static_cast<uint32_t>(port), static_cast<uint32_t>(width))) return Error::kernel_owned;
  return Error::ok;
}

}  // namespace

int64_t hw_derive(Thread* t, uint64_t hw_slot, uint64_t dest, uint64_t first, uint64_t count) {
  Capability *hw, *slot;
  Error e = caps(t).get(hw_slot, ObjType::none, hw, Rights::grant);
  if (e != Error::ok) return err(e);
  if (hw->object_type() != ObjType::ioport && hw->object_type() != ObjType::irq) return err(Error::wrong_type);
  if ((e = caps(t).free_slot(dest, slot)) != Error::ok) return err(e);
  if (!in_range(*hw, first, count)) return err(Error::bad_argument);
  if (hw->object_type() == ObjType::ioport && cos_kernel_ports_overlap(static_cast<uint32_t>(first), static_cast<uint32_t>(count)))
    return err(Error::kernel_owned);
  if (hw->object_type() == ObjType::irq)
    for (uint64_t line = first; line < first + count; ++line)
      if (cos_kernel_irq(static_cast<uint32_t>(line))) return err(Error::kernel_owned);
  Capability made = *hw;
  made.w0 = first;
  made.w1 = count;
  cap_install(slot, made, hw->rights, hw);
  return 0;
}

int64_t ioport_in(Thread* t, uint64_t slot, uint64_t port, uint64_t width) {
  Error e = port_cap(t, slot, port, width, Rights::read);
  if (e != Error::ok) return err(e);
  return static_cast<int64_t>(platform::port_in(static_cast<uint16_t>(port), static_cast<unsigned>(width)));
}

int64_t ioport_out(Thread* t, uint64_t slot, uint64_t port, uint64_t width, uint64_t value) {
  Error e = port_cap(t, slot, port, width, Rights::write);
  if (e != Error::ok) return err(e);
  platform::port_out(static_cast<uint16_t>(port), static_cast<unsigned>(width), static_cast<uint32_t>(value));
  return 0;
}

int64_t irq_bind(Thread* t, uint64_t irq_slot, uint64_t line, uint64_t rcv_slot) {
  Capability* ic;
  RcvEndpoint* ep = nullptr;
  Error e = caps(t).get(irq_slot, ObjType::irq, ic, Rights::write);
  if (e != Error::ok) return err(e);
  if (line >= abi::kIrqLines || line == 2 || !in_range(*ic, line, 1)) return err(Error::out_of_range);
  if (cos_kernel_irq(static_cast<uint32_t>(line))) return err(Error::kernel_owned);
  if (rcv_slot != 0 && (e = caps(t).get(rcv_slot, Rights::write, ep)) != Error::ok) return err(e);
  return err(cos::irq_bind(static_cast<unsigned>(line), ep));
}

}  // namespace cos::sys
