// System-call dispatch: every operation of cos/abi.hpp. Each error path
// returns a distinct abi::Error; nothing a caller passes can crash the kernel.
#include "kernel/console.hpp"
#include "kernel/platform.hpp"
#include "kernel/syscalls.hpp"

namespace cos {
namespace {

using abi::Op;

int64_t sys_print(Thread* t, uint64_t ptr, uint64_t len) {
  if (len > 4096) return sys::err(Error::bad_argument);
  char buf[256];
  while (len > 0) {
    size_t n = len < sizeof(buf) ? len : sizeof(buf);
    if (!platform::copy_from_user(t->current->pgtbl_root, ptr, buf, n)) return sys::err(Error::bad_address);
    platform::console_write(buf, n);
    ptr += n;
    len -= n;
  }
  return 0;
}

}  // namespace

void syscall_handle(Thread* t) {
  x86::Regs& r = t->regs;
  int64_t ret;
  switch (static_cast<Op>(r.rax)) {
    case Op::nop: ret = 0; break;
    case Op::print: ret = sys_print(t, r.rdi, r.rsi); break;
    case Op::retype: ret = sys::retype(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::comp_create: ret = sys::comp_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::thd_create: ret = sys::thd_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8); break;
    case Op::thd_start: ret = sys::thd_start(t, r.rdi, r.rsi, r.rdx); break;
    case Op::sinv_create: ret = sys::sinv_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8); break;
    case Op::cap_copy: ret = sys::cap_copy(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::cap_delete: ret = sys::cap_delete(t, r.rdi); break;
    case Op::cap_revoke: ret = sys::cap_revoke(t, r.rdi); break;
    case Op::cap_info: ret = sys::cap_info(t, r.rdi); break;
    case Op::pgtbl_map: ret = sys::pgtbl_map(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::pgtbl_unmap: ret = sys::pgtbl_unmap(t, r.rdi, r.rsi); break;
    case Op::sinv: sys::sinv(t); return;
    case Op::sret: sys::sret(t); return;
    case Op::thd_yield:
      r.rax = 0;
      if (!g_run_queue.empty() && g_run_queue.top_priority() <= t->priority) schedule(true);
      return;
    case Op::thd_exit: thread_kill(t); return;
    case Op::asnd_create: ret = sys::asnd_create(t, r.rdi, r.rsi, r.rdx); break;
    case Op::asnd: ret = sys::asnd(t, r.rdi); break;
    case Op::rcv:
      if (sys::rcv(t, r.rdi, r.rsi, r.rdx, ret)) return;
      break;
    case Op::hw_derive: ret = sys::hw_derive(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::ioport_in: ret = sys::ioport_in(t, r.rdi, r.rsi, r.rdx); break;
    case Op::ioport_out: ret = sys::ioport_out(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::irq_bind: ret = sys::irq_bind(t, r.rdi, r.rsi, r.rdx); break;
    case Op::timer_bind: ret = sys::timer_bind(t, r.rdi, r.rsi, r.rdx); break;
    case Op::time_now: ret = static_cast<int64_t>(platform::time_us()); break;
    case Op::vm_map: ret = sys::vm_map(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::vm_unmap: ret = sys::vm_unmap(t, r.rdi, r.rsi); break;
    case Op::vcpu_create: ret = sys::vcpu_create(t, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9); break;
    case Op::vcpu_run: ret = sys::vcpu_run(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::vcpu_resume: ret = sys::vcpu_resume(t, r.rdi, r.rsi); break;
    case Op::vcpu_inject: ret = sys::vcpu_inject(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    case Op::console_bind: ret = sys::console_bind(t, r.rdi, r.rsi, r.rdx); break;
    case Op::console_read: ret = sys::console_read(t, r.rdi, r.rsi, r.rdx, r.r10); break;
    default: ret = sys::err(Error::bad_op); break;
  }
  r.rax = static_cast<uint64_t>(ret);
}

}  // namespace cos
