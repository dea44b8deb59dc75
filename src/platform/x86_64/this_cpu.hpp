// The index of the CPU the caller runs on, for the portable kernel's
// per-CPU arrays (kernel/kernel.hpp): one GS-relative load (percpu.hpp says
// where GS is not the kernel's).
#pragma once
#include "x86_64/percpu.hpp"

namespace cos::platform {

/// 0 = the boot processor .. cos_limits::kMaxCpus - 1.
inline unsigned this_cpu() {
  uint32_t cpu;
  asm volatile("movl %%gs:32, %0" : "=r"(cpu));
  return cpu;
}
static_assert(__builtin_offsetof(x86::PerCpu, cpu) == 32, "this_cpu() reads %gs:32");

}  // namespace cos::platform
