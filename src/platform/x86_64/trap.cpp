// Entries from entry.S: exceptions, interrupts and system calls.
#include "cos/exit_status.hpp"
#include "fmt/format.hpp"
#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/gdt.hpp"
#include "x86_64/idt.hpp"
#include "kernel/kernel.hpp"
#include "kernel/kernel_lock.hpp"
#include "x86_64/lapic.hpp"
#include "x86_64/percpu.hpp"
#include "x86_64/regs.hpp"


namespace cos::x86 {
namespace {

PerCpu g_percpu[kMaxCpus];

void dump_regs(const Regs& r) {
  kprintf("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", r.rax, r.rbx, r.rcx, r.rdx);
  kprintf("  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", r.rsi, r.rdi, r.rbp, r.rsp);
  kprintf("  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", r.r8, r.r9, r.r10, r.r11);
  kprintf("  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", r.r12, r.r13, r.r14, r.r15);
  kprintf("  rip %016lx rflags %08lx cs %04lx ss %04lx vector %lu error %#lx\n", r.rip, r.rflags,
          r.cs, r.ss, r.vector, r.error);
}

// A user exception: report it, stop the faulting component, keep the rest.
[[noreturn]] void user_fault(Thread* t) {
  Regs& r = t->regs;
  Component* c = t->current;
  uint64_t addr = r.vector == kVectorPageFault ? read_cr2() : 0;
  kprintf("cos: fault: component '%s' (id %u), thread %u: %s", c->name, c->id, t->id,
          exception_name(r.vector));
  if (r.vector == kVectorPageFault) {
    kprintf(" at address %#lx (%s, %s, %s)", addr, (r.error & 2) ? "write" : "read",
            (r.error & 1) ? "protection violation" : "not mapped",
            (r.error & 16) ? "instruction fetch" : "data");
  }
  kprintf(", rip %#lx\n", r.rip);
  dump_regs(r);
  kprintf("cos: component '%s' stopped\n", c->name);
  component_kill(c);
  if (c->essential) {
    char reason[96];
    if (r.vector == kVectorPageFault)
      fmt::snformat(reason, sizeof(reason), "%s at address %#lx, rip %#lx", exception_name(r.vector), addr, r.rip);
    else
      fmt::snformat(reason, sizeof(reason), "%s at rip %#lx", exception_name(r.vector), r.rip);
    essential_component_stopped(c, exit_status::kFailed, reason);
  }
  schedule(false);
}

}  // namespace

PerCpu& percpu_of(unsigned cpu) { return g_percpu[cpu]; }

void percpu_init(unsigned cpu, uint64_t stack_top) {
  PerCpu& p = g_percpu[cpu];
  p.kernel_stack_top = stack_top;
  p.self = &p;
  p.cpu = cpu;
  if (cpu == 0) p.online = true;  // an AP reports in once it is set up (smp.cpp)
  wrmsr(Msr::gs_base, reinterpret_cast<uint64_t>(&p));
  wrmsr(Msr::kernel_gs_base, 0);
}

}  // namespace cos::x86

using namespace cos;
using namespace cos::x86;

// Interrupts common to both entry paths. Returns true if the scheduler
// should rotate the current thread (its quantum is over).
bool handle_interrupt(uint64_t vector) {
  if (vector == kVectorTimer) {
    lapic::eoi();
    return timer_tick();
  }
  if (vector >= kVectorPicBase && vector < kVectorPicBase + 16) {
    unsigned line = static_cast<unsigned>(vector - kVectorPicBase);
    if (lapic::pic_ack(line)) irq_deliver(line);
    return false;
  }
  // kVectorCpuKick: entering the kernel was the point (cross_cpu.cpp).
  if (vector != kVectorSpurious) lapic::eoi();
  return false;
}

extern "C" [[noreturn]] void trap_from_user(Regs* r) {
  kernel_lock_enter();
  Thread* t = current();
  if (!t || r != &t->regs) panic("trap from user without a current thread (vector %lu)", r->vector);
  if (r->vector < 32) user_fault(t);
  schedule(handle_interrupt(r->vector));
}

extern "C" void trap_from_kernel(Regs* r) {
  if (r->vector >= 32) {
    // The idle loop's HLT runs without the kernel lock; the other windows
    // (interrupts_poll, a vCPU's exit path) hold it.
    const bool took_lock = kernel_lock_enter_unless_held();
    bool rotate = handle_interrupt(r->vector);
    // A vCPU's exit path briefly enables interrupts to take the one that
    // caused the exit: it reschedules itself afterwards.
    if (current()) {
      g_cpu_local[platform::this_cpu()].rotate_pending |= rotate;
    } else if (!run_queue().empty()) {
      // The idle loop: anything that became ready gets the CPU.
      schedule(false);
    }
    if (took_lock) kernel_lock_leave();
    return;
  }
  kprintf("\ncos: kernel exception: %s, rip %#lx", exception_name(r->vector), r->rip);
  if (r->vector == kVectorPageFault) kprintf(", address %#lx", read_cr2());
  kprintf("\n");
  dump_regs(*r);
  panic("unexpected %s in the kernel", exception_name(r->vector));
}

// #DB, NMI, #DF and #MC, on their IST stacks (entry.S ist_common). Runs with
// whatever GS the interrupted context had: it must not use per-CPU data
// through GS (nothing in the kernel's C++ does).
extern "C" void trap_ist(Regs* r) {
  const bool from_user = (r->cs & 3) != 0;
  switch (r->vector) {
    case kVectorNmi: {
      // Nobody's fault: a watchdog, the emulator, a host NMI that ended a
      // guest's run. The interrupted context, user or kernel, goes on.
      static unsigned reported;
      if (reported < 4) {
        ++reported;
        kprintf("cos: NMI at rip %#lx (%s) ignored%s\n", r->rip, from_user ? "user" : "kernel",
                reported == 4 ? "; further NMIs are not reported" : "");
      }
      return;
    }
    case kVectorMachineCheck:
      // A hardware error: the machine's state cannot be trusted, whatever
      // ran at the time. Never blamed on a component.
      panic("machine check (#MC) at rip %#lx (%s mode)", r->rip, from_user ? "user" : "kernel");
    case kVectorDoubleFault:
      kprintf("\ncos: kernel exception: %s, rip %#lx\n", exception_name(r->vector), r->rip);
      dump_regs(*r);
      panic("double fault");
    case kVectorDebug:
      if (from_user) {
        // A single step or INT1 the component asked for: its own fault.
        // (ist_common switched to the kernel's GS: CS said user mode.)
        kernel_lock_enter();
        Thread* t = current();
        if (!t) panic("#DB from user mode without a current thread");
        t->regs = *r;
        user_fault(t);
      }
      {
        // The kernel sets no breakpoints: this is the single-step trap of a
        // SYSCALL made with RFLAGS.TF = 1 (taken at the first instruction of
        // the entry, before it switched stacks). Nothing to do.
        static unsigned reported;
        if (reported < 4) {
          ++reported;
          kprintf("cos: #DB in the kernel at rip %#lx ignored (single-stepped system call)\n", r->rip);
        }
        asm volatile("mov %0, %%dr6" ::"r"(0xffff0ff0ull));
      }
      return;
    default:
      panic("vector %lu on an IST stack", r->vector);
  }
}

extern "C" [[noreturn]] void syscall_from_user(Regs* r) {
  kernel_lock_enter();
  Thread* t = current();
  if (!t || r != &t->regs) panic("syscall without a current thread");
  syscall_handle(t);
  schedule(false);
}
