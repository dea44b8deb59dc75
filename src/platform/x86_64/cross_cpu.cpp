// Kernel IPIs between CPUs (docs/kernel.md, "Processors"): the reschedule
// kick and the synchronous TLB/FPU synchronisation (a TLB shootdown; Intel
// SDM Vol. 3A, 4.10.5 "Propagation of Paging-Structure Changes to Multiple
// Processors"). One vector, kVectorCpuKick, for both: whatever a CPU was
// doing, the interrupt brings it into the kernel, where it waits for the
// kernel lock and serves a pending synchronisation request while it spins
// (kernel_lock_enter); a guest leaves with an external-interrupt exit first.
#include "kernel/platform.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/idt.hpp"
#include "x86_64/kernel_paging.hpp"
#include "x86_64/lapic.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/this_cpu.hpp"

namespace cos::platform {

unsigned cpus_online() {
  unsigned n = 0;
  while (n < x86::kMaxCpus && x86::percpu_of(n).online) ++n;
  return n;
}

void cpu_kick(unsigned cpu) {
  if (cpu == this_cpu() || cpu >= x86::kMaxCpus || !x86::percpu_of(cpu).online) return;
  x86::lapic::send_fixed(x86::percpu_of(cpu).apic_id, x86::kVectorCpuKick);
}

void cpus_sync(uint64_t dying_root) {
  const unsigned me = this_cpu();
  const unsigned n = cpus_online();
  for (unsigned cpu = 0; cpu < n; ++cpu) {
    if (cpu == me) continue;
    x86::PerCpu& p = x86::percpu_of(cpu);
    p.sync_root = dying_root;
    __atomic_store_n(&p.sync_request, 1, __ATOMIC_RELEASE);
    x86::lapic::send_fixed(p.apic_id, x86::kVectorCpuKick);
  }
  for (unsigned cpu = 0; cpu < n; ++cpu) {
    if (cpu == me) continue;
    while (__atomic_load_n(&x86::percpu_of(cpu).sync_request, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
  }
}

void cpu_call(unsigned cpu, void (*fn)(uint64_t), uint64_t arg) {
  x86::PerCpu& p = x86::percpu_of(cpu);
  p.call_arg = arg;
  __atomic_store_n(&p.call_fn, fn, __ATOMIC_RELEASE);
  x86::lapic::send_fixed(p.apic_id, x86::kVectorCpuKick);
  while (__atomic_load_n(&p.call_fn, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
}

void cpu_sync_poll() {
  x86::PerCpu& p = x86::percpu();
  if (auto* fn = __atomic_load_n(&p.call_fn, __ATOMIC_ACQUIRE)) {
    fn(p.call_arg);
    __atomic_store_n(&p.call_fn, nullptr, __ATOMIC_RELEASE);
  }
  if (!__atomic_load_n(&p.sync_request, __ATOMIC_ACQUIRE)) return;
  // The FPU registers hold the last user or guest state this CPU ran:
  // written back, another CPU may load it (fpu_release).
  if (p.fpu_live) {
    asm volatile("fxsave64 (%0)" ::"r"(p.fpu_live) : "memory");
    p.fpu_live = nullptr;
  }
  // Reloading CR3 drops every non-global translation (SDM Vol. 3A, 4.10.4.1);
  // the kernel's tables hold only global kernel mappings, which never change.
  x86::write_cr3(x86::kernel_root());
  p.loaded_root = 0;
  __atomic_store_n(&p.sync_request, 0, __ATOMIC_RELEASE);
}

}  // namespace cos::platform
