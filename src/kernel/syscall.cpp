// System-call dispatch: every operation of cos/abi.hpp. Each error path
// returns a distinct abi::Error; nothing a caller passes can crash the kernel.
//
// Bounded work (kernel/work_budget.hpp): each call gets kWorkPerEntry units
// for its operation and for destroying what the operation released (the
// thread's own ReapList). A call that runs out is restarted: the thread's rip
// goes back to its SYSCALL instruction, the interrupts that became pending are
// taken as soon as it returns to user mode, and when it runs again it
// re-executes the call, which continues (Thread::restart says where). The
// caller sees one call with one result; no ABI change.
#include "kernel/console.hpp"
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos {
namespace {

using abi::Op;

// The console UART takes ~87 us per byte at 115200 baud where the emulator
// models the line (Bochs), and under QEMU it waits whenever the host reads
// the console late: a 4 KiB print could hold the kernel for 350 ms or more.
// While the UART is busy (and between chunks of kPrintChunk bytes) pending
// interrupts are let in, and if a thread of higher priority became ready,
// the call stops and is restarted later with the rest (rdi/rsi advanced):
// what a thread prints costs only its own time. Round robin among equal
// priorities waits for the end of the print, so equal-priority components'
// lines do not interleave.
constexpr size_t kPrintChunk = 16;

// Lets pending interrupts in; true (and the call set up to continue at
// `ptr`, `len`) when a higher priority should run now.
bool print_yields(Thread* t, uint64_t ptr, uint64_t len) {
  platform::interrupts_poll();
  int top = run_queue().top_priority();
  if (top < 0 || top >= t->priority) return false;
  t->regs.rdi = ptr;
  t->regs.rsi = len;
  // Back first among its equals (schedule() keeps a preempted thread's place
  // while it has quantum left), so its line is finished before theirs start.
  if (t->quantum_left == 0) t->quantum_left = 1;
  return true;
}

int64_t sys_print(Thread* t, uint64_t ptr, uint64_t len) {
  if (len > 4096) return sys::err(Error::bad_argument);
  char buf[kPrintChunk];
  while (len > 0) {
    size_t n = len < sizeof(buf) ? len : sizeof(buf);
    if (!platform::copy_from_user(t->current->pgtbl_root, ptr, buf, n)) return sys::err(Error::bad_address);
    for (size_t i = 0; i < n; ++i) {
      while (!platform::console_ready())
        if (print_yields(t, ptr + i, len - i)) return sys::kRestart;
      console_put(t->current->id + 1, buf[i]);
    }
    ptr += n;
    len -= n;
    if (len > 0 && print_yields(t, ptr, len)) return sys::kRestart;
  }
  return 0;
}

// What a call the work budget cut short needs to continue: it is the same
// call (the kernel rewrote nothing in between, or it would have abandoned it).
bool continues(const Thread* t) { return t->regs.rip == t->restart_rip && t->regs.rax == t->restart_op; }

// The normal end of system call `op` (rax at entry): the objects it released
// are destroyed with what is left of its budget before it returns `ret`;
// otherwise (or if the operation itself ran out, ret == sys::kRestart) the
// thread executes the call again when it next runs, after pending interrupts
// and any higher-priority thread, and continues there.
void finish(Thread* t, uint64_t op, int64_t ret, WorkBudget& budget) {
  x86::Regs& r = t->regs;
  // A large retype that ended another way (an error at a later entry: its
  // untyped or slot went meanwhile) leaves no reservation behind.
  if (ret != sys::kRestart && t->pending_frame.ut) pending_frame_abandon(t);
  if (t->reap.empty() && ret != sys::kRestart) {  // released nothing: the common case
    reap_into(nullptr);
    t->restart = SyscallRestart::none;
    r.rax = static_cast<uint64_t>(ret);
    return;
  }
  if (t->state == ThreadState::dead) {  // the operation ended its own thread: nothing returns
    reap_into(nullptr);
    reap_adopt(t->reap);
    return;
  }
  bool done = ret != sys::kRestart && reap(&t->reap, budget);
  reap_into(nullptr);
  if (done) {
    t->restart = SyscallRestart::none;
    r.rax = static_cast<uint64_t>(ret);
    return;
  }
  t->restart = ret == sys::kRestart ? SyscallRestart::redo : SyscallRestart::reclaim;
  t->restart_result = ret;
  t->restart_rip = r.rip;
  t->restart_op = op;
  r.rax = op;  // the registers it entered with (no operation of this group writes them)
  platform::restart_syscall(t);
}

// The operations that do not return through finish(): they transfer control
// (or block) and hand what they release to the background list. True if
// `op` was one of them.
bool control_transfer(Thread* t, Op op) {
  x86::Regs& r = t->regs;
  int64_t ret;
  switch (op) {
    case Op::sinv: sys::sinv(t); return true;
    case Op::sret: sys::sret(t); return true;
    case Op::thd_yield:
      r.rax = 0;
      if (!run_queue().empty() && run_queue().top_priority() <= t->priority) schedule(true);
      return true;
    case Op::thd_exit: thread_kill(t); return true;
    case Op::comp_exit:  // returns only with an error
      r.rax = static_cast<uint64_t>(sys::comp_exit(t, r.rdi, r.rsi, r.rdx));
      return true;
    case Op::rcv:
      if (!sys::rcv(t, r.rdi, r.rsi, r.rdx, ret)) r.rax = static_cast<uint64_t>(ret);
      return true;
    case Op::vcpu_run:  // enters the guest; returns here only with an error
      r.rax = static_cast<uint64_t>(sys::vcpu_run(t, r.rdi, r.rsi, r.rdx, r.r10));
      return true;
    default:
      return false;
  }
}

}  // namespace

void syscall_abandon(Thread* t) {
  pending_frame_abandon(t);
  reap_adopt(t->reap);
  t->restart = SyscallRestart::none;
}

void syscall_handle(Thread* t) {
  x86::Regs& r = t->regs;
  WorkBudget budget(kWorkPerEntry);
  if (t->restart != SyscallRestart::none) {
    if (!continues(t)) {
      syscall_abandon(t);
    } else if (t->restart == SyscallRestart::reclaim) {
      reap_into(&t->reap);
      finish(t, r.rax, t->restart_result, budget);
      return;
    }
  }
  const uint64_t raw_op = r.rax;
  const auto op = static_cast<Op>(raw_op);
  if (control_transfer(t, op)) return;
  reap_into(&t->reap);
  int64_t ret;
  switch (op) {
    case Op::nop: ret = 0; break;
    case Op::print: ret = sys_print(t, r.rdi, r.rsi); break;
    case Op::retype: ret = sys::retype(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::comp_create: ret = sys::comp_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::comp_essential: ret = sys::comp_essential(t, r.rdi); break;
    case Op::thd_create: ret = sys::thd_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8); break;
    case Op::thd_start: ret = sys::thd_start(t, r.rdi, r.rsi, r.rdx); break;
    case Op::sinv_create: ret = sys::sinv_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8); break;
    case Op::cap_copy: ret = sys::cap_copy(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::cap_delete: ret = sys::cap_delete(t, r.rdi); break;
    case Op::cap_revoke: ret = sys::cap_revoke(t, r.rdi, budget); break;
    case Op::cap_info: ret = sys::cap_info(t, r.rdi); break;
    case Op::pgtbl_map: ret = sys::pgtbl_map(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::pgtbl_unmap: ret = sys::pgtbl_unmap(t, r.rdi, r.rsi); break;
    case Op::asnd_create: ret = sys::asnd_create(t, r.rdi, r.rsi, r.rdx); break;
    case Op::asnd: ret = sys::asnd(t, r.rdi); break;
    case Op::hw_derive: ret = sys::hw_derive(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::ioport_in: ret = sys::ioport_in(t, r.rdi, r.rsi, r.rdx); break;
    case Op::ioport_out: ret = sys::ioport_out(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::irq_bind: ret = sys::irq_bind(t, r.rdi, r.rsi, r.rdx); break;
    case Op::timer_bind: ret = sys::timer_bind(t, r.rdi, r.rsi, r.rdx); break;
    case Op::time_now: ret = static_cast<int64_t>(platform::time_us()); break;
    case Op::vm_map: ret = sys::vm_map(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::vm_unmap: ret = sys::vm_unmap(t, r.rdi, r.rsi); break;
    case Op::vcpu_create: ret = sys::vcpu_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::vcpu_resume: ret = sys::vcpu_resume(t, r.rdi, r.rsi); break;
    case Op::vcpu_inject: ret = sys::vcpu_inject(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::console_bind: ret = sys::console_bind(t, r.rdi, r.rsi, r.rdx); break;
    case Op::console_read: ret = sys::console_read(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::comp_ceiling: ret = sys::comp_ceiling(t, r.rdi, r.rsi); break;
    case Op::thd_suspend: ret = sys::thd_suspend(t, r.rdi, true); break;
    case Op::thd_resume: ret = sys::thd_suspend(t, r.rdi, false); break;
    case Op::thd_kill: ret = sys::thd_kill(t, r.rdi); break;
    case Op::comp_kill: ret = sys::comp_kill(t, r.rdi); break;
    case Op::thd_cpu: ret = sys::thd_cpu(t, r.rdi, r.rsi); break;
    case Op::cpu_count: ret = platform::cpus_online(); break;
    default: ret = sys::err(Error::bad_op); break;
  }
  finish(t, raw_op, ret, budget);
}

}  // namespace cos
