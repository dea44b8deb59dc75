// Per-CPU data reached through GS in the kernel (KERNEL_GS_BASE holds its
// address while in user mode; entry code does `swapgs`). The first offsets
// are used by entry.S (asm_constants.h) and must match.
//
// GS is the kernel's in all kernel C++ code except trap_ist (the IST
// vectors can arrive where GS is still the user's): percpu() must not be
// called there unless the interrupted context was user mode (ist_common
// swaps GS then).
#pragma once
#include <stdint.h>

namespace cos::x86 {

struct PerCpu {
  uint64_t kernel_stack_top;  ///< offset 0: this CPU's stack for kernel work
  uint64_t user_rsp;          ///< offset 8: scratch for syscall entry
  uint64_t regs_top;          ///< offset 16: end of the current thread's Regs (syscall pushes here)
  PerCpu* self;               ///< offset 24: this structure (percpu() reads it through GS)
  uint32_t cpu;               ///< offset 32: 0 = the boot processor .. kMaxCpus - 1
  uint64_t loaded_root;       ///< the page-table root in CR3 (0: the boot tables; address_space.cpp)
  uint8_t* fpu_live;          ///< the FXSAVE area whose state is in the FPU registers (fpu.cpp)
  /// Cross-CPU synchronisation (cross_cpu.cpp): another CPU, holding the
  /// kernel lock, sets `sync_root` then `sync_request` (release) and waits
  /// until this CPU clears `sync_request`.
  uint32_t sync_request;
  uint64_t sync_root;        ///< a page-table root being torn down (0: none)
  /// cpu_call: another CPU, holding the kernel lock, sets `call_arg` then
  /// `call_fn` (release) and waits until this CPU has run it and cleared it.
  void (*call_fn)(uint64_t);
  uint64_t call_arg;
  uint32_t apic_id;          ///< this CPU's local APIC ID (smp.cpp)
  bool online;               ///< runs the kernel (the boot processor, or an AP that reported in)
  bool tick_stopped;         ///< an idle AP stopped its LAPIC timer (context.cpp)
};
static_assert(__builtin_offsetof(PerCpu, self) == 24, "percpu() reads %gs:24");

/// This CPU's PerCpu, through GS (see the file comment for where not).
inline PerCpu& percpu() {
  PerCpu* p;
  // volatile: a kernel path that blocks may resume on another CPU later
  // (once threads move between CPUs), so the load is never reused.
  asm volatile("mov %%gs:24, %0" : "=r"(p));
  return *p;
}

/// The PerCpu of CPU `cpu` (< kMaxCpus), for code that looks at every CPU.
PerCpu& percpu_of(unsigned cpu);

/// Points GS at CPU `cpu`'s PerCpu (KERNEL_GS_BASE = 0 until the first
/// swapgs), with `kernel_stack_top` as its stack for kernel work. Called
/// once on each CPU as it comes up (main.cpp, smp.cpp).
void percpu_init(unsigned cpu, uint64_t kernel_stack_top);

}  // namespace cos::x86
