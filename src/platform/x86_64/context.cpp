// Thread register contexts: new threads, invocation entry and return, system
// call results, and resuming a thread in user mode (or in its guest).
#include "kernel/kernel.hpp"
#include "kernel/kernel_lock.hpp"
#include "kernel/platform.hpp"
#include "x86_64/arch.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/lapic.hpp"
#include "x86_64/address_space.hpp"
#include "x86_64/percpu.hpp"
#include "x86_64/regs.hpp"

extern "C" [[noreturn]] void user_return_iret(cos::x86::Regs*);
extern "C" [[noreturn]] void user_return_sysret(cos::x86::Regs*);
extern "C" [[noreturn]] void vcpu_guest_loop_on_stack(cos::Thread* t, uint64_t stack_top);

namespace cos::platform {

void thread_context_init(Thread* t, uint64_t entry, uint64_t arg) {
  t->regs = {};
  t->regs.rip = entry;
  t->regs.rdi = arg;
  t->regs.cs = x86::kUserCs;
  t->regs.ss = x86::kUserDs;
  t->regs.rflags = x86::kUserRflags;
  fpu_init_area(t->fpu);
}

void set_invocation_return(Thread* t, uint64_t rip, uint64_t rsp, uint64_t rflags, uint64_t r0, uint64_t r1) {
  x86::Regs& r = t->regs;
  uint64_t vector = r.vector;
  r = {};
  r.vector = vector;
  r.rip = rip;
  r.rsp = rsp;
  r.rflags = user_rflags(rflags);
  r.cs = x86::kUserCs;
  r.ss = x86::kUserDs;
  r.rax = r0;
  r.rdx = r1;
  fpu_reset(t->fpu);
}

void set_upcall(Thread* t, uint64_t entry, uint64_t token) {
  x86::Regs& r = t->regs;
  x86::Regs in = r;
  r = {};
  r.vector = in.vector;
  r.rip = entry;
  r.rflags = x86::kUserRflags;
  r.cs = x86::kUserCs;
  r.ss = x86::kUserDs;
  r.rdi = token;
  r.rsi = in.rsi;
  r.rdx = in.rdx;
  r.r10 = in.r10;
  r.r8 = in.r8;
  fpu_reset(t->fpu);
}

uint64_t user_rflags(uint64_t rflags) {
  constexpr uint64_t kStatus = x86::Rflags::cf | 0x4 | 0x10 | 0x40 | 0x80 | 0x800;  // CF PF AF ZF SF OF
  return (rflags & (kStatus | x86::Rflags::df)) | x86::kUserRflags;
}

void restart_syscall(Thread* t) {
  constexpr uint64_t kSyscallBytes = 2;  // 0F 05
  t->regs.rip -= kSyscallBytes;
}

void set_syscall_result(Thread* t, int64_t rax) { t->regs.rax = static_cast<uint64_t>(rax); }
void set_syscall_result(Thread* t, int64_t rax, uint64_t rdx) {
  t->regs.rax = static_cast<uint64_t>(rax);
  t->regs.rdx = rdx;
}

void thread_destroyed(Thread* t) { fpu_forget(t->fpu); }

void resume(Thread* t) {
  x86::PerCpu& cpu = x86::percpu();
  if (cpu.tick_stopped) {  // an AP out of its idle loop: the tick counts this thread's quantum
    x86::lapic::start_timer_this_cpu();
    cpu.tick_stopped = false;
  }
  address_space_switch(t->current->pgtbl_root);
  // A thread in a guest re-enters it from the top of the kernel stack.
  if (t->guest) vcpu_guest_loop_on_stack(t, x86::percpu().kernel_stack_top);
  fpu_activate(t->fpu);
  uint64_t top = reinterpret_cast<uint64_t>(&t->regs + 1);
  x86::tss_set_rsp0(top);
  x86::percpu().regs_top = top;
  // Out of the kernel: t is this CPU's (kernel/kernel_lock.hpp).
  kernel_lock_leave();
  if (t->regs.vector == x86::kSyscallVector && x86::pte::canonical(t->regs.rip) && t->regs.rip < x86::kUserTop)
    user_return_sysret(&t->regs);
  user_return_iret(&t->regs);
}

void interrupts_poll() { asm volatile("sti; nop; cli" ::: "memory"); }

namespace {

// The idle loop proper, on a fresh kernel stack. With background work left it
// opens a one-instruction interrupt window between chunks (STI delays
// interrupts by one instruction: Intel SDM Vol. 2B, STI) rather than halting.
[[noreturn]] void idle_loop() {
  // The boot processor's tick keeps time and timeouts; an AP's only counts
  // quanta: an idle AP stops it and is woken by an IPI (cross_cpu.cpp).
  x86::PerCpu& cpu = x86::percpu();
  if (cpu.cpu != 0 && !cpu.tick_stopped) {
    x86::lapic::stop_timer_this_cpu();
    cpu.tick_stopped = true;
  }
  for (;;) {
    if (idle_work()) {
      // Between chunks the lock is let go too: the other CPUs get their turn.
      kernel_lock_leave();
      interrupts_poll();
      kernel_lock_enter();
    } else {
      kernel_lock_leave();  // an interrupt takes it again (trap_from_kernel)
      asm volatile("sti\n hlt\n cli" ::: "memory");
      kernel_lock_enter();
    }
  }
}

}  // namespace

void idle() {
  // Interrupts arrive in idle_loop (CPL 0) and their handler calls
  // schedule() when a thread became ready, abandoning this stack.
  asm volatile(
      "mov %0, %%rsp\n"
      "call *%1\n" ::"r"(x86::percpu().kernel_stack_top), "r"(&idle_loop));
  __builtin_unreachable();
}

}  // namespace cos::platform

extern "C" [[noreturn]] void vcpu_guest_loop_c(cos::Thread* t) { cos::vcpu_guest_loop(t); }
