// starvation/rt_native: the high-criticality component of
// composition_scripts/starvation.toml. A periodic thread (the kernel's
// periodic timer, `period_us`) that must run within `bound_us` of each
// release while a low-criticality VM spins with interrupts disabled and a
// native peer spins beside it. Prints its worst lateness over `periods`
// releases and PASS/FAIL against the bound.
//
// Lateness of release k = (time it runs) - (t0 + k * period_us), where the
// kernel's periodic timer was bound at t0; releases the timer folded
// together (rcv returns how many) count as late by their whole distance.
#include "runtime/cos.hpp"

namespace sys = cos::sys;

int main() {
  const cos::boot::CompInfo& ci = cos::self();
  const uint64_t period = cos::param_u64("period_us", 2000);
  const uint64_t periods = cos::param_u64("periods", 1000);
  const uint64_t bound = cos::param_u64("bound_us", 2500);
  const uint64_t rcv = ci.first_free_slot;
  int64_t r = sys::rcv_create(ci.untyped_slot, rcv);
  if (r == 0) r = sys::timer_bind(ci.timer_slot, rcv, period);
  if (r != 0) {
    cos::printf("rt_native: FAIL setting up the periodic timer (%s)\n", cos::abi::error_name(r));
    return 1;
  }
  const uint64_t t0 = static_cast<uint64_t>(sys::time_now());
  uint64_t k = 0, worst = 0, sum = 0, over = 0;
  while (k < periods) {
    int64_t n = sys::rcv(rcv, 0, 0);
    const uint64_t now = static_cast<uint64_t>(sys::time_now());
    if (n <= 0) {
      cos::printf("rt_native: FAIL rcv returned %s\n", cos::abi::error_name(n));
      return 1;
    }
    // The first of the n releases delivered now is the oldest.
    const uint64_t release = t0 + (k + 1) * period;
    const uint64_t late = now > release ? now - release : 0;
    if (late > worst) worst = late;
    if (late > bound) ++over;
    sum += late;
    k += static_cast<uint64_t>(n);
  }
  sys::timer_bind(ci.timer_slot, rcv, 0);
  cos::printf("rt_native: %lu periods of %lu us: worst lateness %lu us, mean %lu us, %lu over the bound of %lu us\n",
              static_cast<unsigned long>(k), static_cast<unsigned long>(period), static_cast<unsigned long>(worst),
              static_cast<unsigned long>(sum / k), static_cast<unsigned long>(over), static_cast<unsigned long>(bound));
  cos::printf("rt_native: %s deadline kept\n", worst <= bound ? "PASS" : "FAIL");
  return 0;
}
