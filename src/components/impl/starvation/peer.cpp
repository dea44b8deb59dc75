// starvation/peer: a native component at the same priority as the spinning
// VM of composition_scripts/starvation.toml. It spins too, counting, for
// `run_ms`; round robin inside the priority (the kernel's quantum) must give
// it a share of the CPU although the VM never blocks. Prints PASS when it
// got at least `min_share_pct` percent of the wall time it ran for.
#include "runtime/cos.hpp"

namespace sys = cos::sys;

int main() {
  const uint64_t run_us = cos::param_u64("run_ms", 2000) * 1000;
  const uint64_t min_pct = cos::param_u64("min_share_pct", 10);
  const uint64_t t0 = static_cast<uint64_t>(sys::time_now());
  uint64_t last = t0, mine = 0;
  for (;;) {
    const uint64_t now = static_cast<uint64_t>(sys::time_now());
    // Gaps longer than 200 us are time others had the CPU.
    if (now - last < 200) mine += now - last;
    last = now;
    if (now - t0 >= run_us) break;
  }
  const uint64_t pct = mine * 100 / run_us;
  cos::printf("peer: ran %lu of %lu us (%lu%%) beside the spinning VM at the same priority\n",
              static_cast<unsigned long>(mine), static_cast<unsigned long>(run_us), static_cast<unsigned long>(pct));
  cos::printf("peer: %s round robin share\n", pct >= min_pct ? "PASS" : "FAIL");
  return 0;
}
