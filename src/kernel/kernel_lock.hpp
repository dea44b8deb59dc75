// The big kernel lock (docs/kernel.md, "Processors"): one ticket spin lock
// taken on every way into the kernel (system call, its sinv/sret fast paths,
// interrupt and exception from user mode, an interrupt that wakes the idle
// loop, a #DB from user mode) and left on every way out (return to user
// mode, guest entry, HLT in the idle loop). Guests and components run in
// parallel on every CPU; the kernel runs on one at a time, so its
// single-CPU reasoning (the capability derivation tree, untyped carving,
// reference counts, run queues, timeouts) holds as it is.
//
// What is owned by a CPU rather than by the lock: the thread it runs (its
// register frame, invocation stack and FPU area are read on the way out
// after the lock is left, so no other CPU may change or free a thread that
// is current somewhere: a kill from another CPU will go through a
// reschedule IPI) and, for a vCPU thread, its VMCB or VMCS.
//
// A CPU waiting for the lock serves cross-CPU synchronisation requests
// (platform::cpus_sync: TLB shootdown, FPU write-back) while it spins, so
// the holder can wait for every other CPU without deadlock.
//
// Taken with interrupts off. An interrupt the kernel lets in on purpose
// while it holds the lock (interrupts_poll, the vCPU exit path) finds it
// held by its own CPU and does not take it again
// (kernel_lock_enter_unless_held).
#pragma once
#include <stdint.h>

#include "kernel/platform.hpp"
#include "x86_64/this_cpu.hpp"

namespace cos {

/// Ticket lock state: `next` hands out tickets, `serving` is the ticket
/// allowed in, `owner` the holder's CPU index + 1 (0: free).
struct KernelLock {
  uint32_t next;
  uint32_t serving;
  uint32_t owner;
};
extern KernelLock g_kernel_lock;

/// Panics: this CPU took the lock twice, or left a lock it does not hold
/// (kernel_lock.cpp; out of line so the fast paths stay small).
[[noreturn]] void kernel_lock_misuse(bool entering);

/// True when this CPU holds the kernel lock.
inline bool kernel_lock_held_here() {
  return __atomic_load_n(&g_kernel_lock.owner, __ATOMIC_RELAXED) == platform::this_cpu() + 1;
}

/// Takes the kernel lock, spinning (PAUSE) until its ticket comes up. This
/// CPU must not hold it.
inline void kernel_lock_enter() {
  const uint32_t me = platform::this_cpu() + 1;
  if (__atomic_load_n(&g_kernel_lock.owner, __ATOMIC_RELAXED) == me) kernel_lock_misuse(true);
  const uint32_t ticket = __atomic_fetch_add(&g_kernel_lock.next, 1, __ATOMIC_RELAXED);
  // The holder may be waiting for this CPU (platform::cpus_sync), which
  // has interrupts off here: its request is served while spinning.
  while (__atomic_load_n(&g_kernel_lock.serving, __ATOMIC_ACQUIRE) != ticket) {
    platform::cpu_sync_poll();
    __builtin_ia32_pause();
  }
  __atomic_store_n(&g_kernel_lock.owner, me, __ATOMIC_RELAXED);
}

/// Leaves the kernel lock, which this CPU holds; everything the kernel
/// wrote before is visible to the next holder.
inline void kernel_lock_leave() {
  if (__atomic_load_n(&g_kernel_lock.owner, __ATOMIC_RELAXED) != platform::this_cpu() + 1) kernel_lock_misuse(false);
  __atomic_store_n(&g_kernel_lock.owner, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&g_kernel_lock.serving, g_kernel_lock.serving + 1, __ATOMIC_RELEASE);
}

/// For an interrupt that may arrive while this CPU is in the kernel: takes
/// the lock unless this CPU holds it already. Returns whether it took it
/// (then the caller leaves it before returning to the interrupted code).
inline bool kernel_lock_enter_unless_held() {
  if (kernel_lock_held_here()) return false;
  kernel_lock_enter();
  return true;
}

}  // namespace cos
