// ISA interrupt lines delivered as notifications to receive endpoints.
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"

namespace cos {
namespace {
RcvEndpoint* g_bound[abi::kIrqLines];
}

Error irq_bind(unsigned line, RcvEndpoint* ep) {
  RcvEndpoint* old = g_bound[line];
  if (ep && old) return Error::irq_bound;
  if (!ep) {
    if (old) {
      platform::irq_mask(line, true);
      old->irq_line = -1;
      g_bound[line] = nullptr;
      obj_unref(old);
    }
    return Error::ok;
  }
  obj_ref(ep);
  ep->irq_line = static_cast<int>(line);
  g_bound[line] = ep;
  platform::irq_mask(line, false);
  return Error::ok;
}

void irq_deliver(unsigned line) {
  if (line == platform::console_irq()) {
    console_input_poll();
    return;
  }
  if (line < abi::kIrqLines && g_bound[line]) rcv_notify(g_bound[line]);
}

}  // namespace cos
