// starvation/rt_native: the high-criticality component of
// composition_scripts/starvation.toml. A periodic thread (release k at
// t0 + k * period_us) that must run within `bound_us` of each release while a
// low-criticality VM spins with interrupts disabled and a native peer spins
// beside it. Prints its worst lateness over `periods` releases and PASS/FAIL
// against the bound.
//
// Each release is an absolute deadline: the thread blocks in rcv with a
// timeout that ends at the release (on an endpoint nobody notifies), so its
// lateness is exactly (time it runs) - (release). The kernel checks timeouts
// on its tick, so up to one tick (abi::kTickUs) of lateness is inherent.
#include "runtime/cos.hpp"

namespace sys = cos::sys;

int main() {
  const cos::boot::CompInfo& ci = cos::self();
  const uint64_t period = cos::param_u64("period_us", 2000);
  const uint64_t periods = cos::param_u64("periods", 1000);
  const uint64_t bound = cos::param_u64("bound_us", 2500);
  const uint64_t rcv = ci.first_free_slot;
  int64_t r = sys::rcv_create(ci.untyped_slot, rcv);
  if (r != 0) {
    cos::printf("rt_native: FAIL creating its endpoint (%s)\n", cos::abi::error_name(r));
    return 1;
  }
  // The booter (priority 0) still prints its last lines when we start.
  sys::rcv(rcv, cos::param_u64("warmup_us", 50000), 0);
  const uint64_t t0 = static_cast<uint64_t>(sys::time_now());
  uint64_t worst = 0, sum = 0, over = 0;
  constexpr unsigned kShown = 5;
  uint64_t shown[kShown][2] = {};  // the first releases over the bound: k, lateness (printed at the end)
  for (uint64_t k = 1; k <= periods; ++k) {
    const uint64_t release = t0 + k * period;
    uint64_t now = static_cast<uint64_t>(sys::time_now());
    if (now < release) {
      r = sys::rcv(rcv, release - now, 0);
      if (r != static_cast<int64_t>(cos::abi::Error::timeout)) {
        cos::printf("rt_native: FAIL rcv returned %ld\n", static_cast<long>(r));
        return 1;
      }
      now = static_cast<uint64_t>(sys::time_now());
    }
    const uint64_t late = now - release;
    if (late > worst) worst = late;
    if (late > bound && over < kShown) {
      shown[over][0] = k;
      shown[over][1] = late;
    }
    if (late > bound) ++over;
    sum += late;
  }
  cos::printf("rt_native: %lu periods of %lu us: worst lateness %lu us, mean %lu us, %lu over the bound of %lu us\n",
              static_cast<unsigned long>(periods), static_cast<unsigned long>(period),
              static_cast<unsigned long>(worst), static_cast<unsigned long>(sum / periods),
              static_cast<unsigned long>(over), static_cast<unsigned long>(bound));
  for (uint64_t i = 0; i < over && i < kShown; ++i)
    cos::printf("rt_native: release %lu was %lu us late\n", static_cast<unsigned long>(shown[i][0]),
                static_cast<unsigned long>(shown[i][1]));
  cos::printf("rt_native: %s deadline kept\n", worst <= bound ? "PASS" : "FAIL");
  return 0;
}
