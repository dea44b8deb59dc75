// Raw system-call stubs, one per operation of src/include/cos/abi.hpp (which
// documents arguments, rights and errors). Each returns the kernel's rax:
// 0 or a non-negative result, or a negative cos::abi::Error.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"

namespace cos::sys {

inline int64_t call(abi::Op op, uint64_t a0 = 0, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                    uint64_t a4 = 0, uint64_t a5 = 0) {
  int64_t ret;
  register uint64_t r10 asm("r10") = a3;
  register uint64_t r8 asm("r8") = a4;
  register uint64_t r9 asm("r9") = a5;
  asm volatile("syscall"
               : "=a"(ret), "+D"(a0), "+S"(a1), "+d"(a2), "+r"(r10), "+r"(r8), "+r"(r9)
               : "a"(static_cast<uint64_t>(op))
               : "rcx", "r11", "memory");
  return ret;
}

inline int64_t nop() { return call(abi::Op::nop); }
inline int64_t print(const char* s, uint64_t len) {
  return call(abi::Op::print, reinterpret_cast<uint64_t>(s), len);
}
inline int64_t retype(uint64_t ut, uint64_t dest, abi::ObjType type, uint64_t pages) {
  return call(abi::Op::retype, ut, dest, static_cast<uint64_t>(type), pages);
}
inline int64_t comp_create(uint64_t ut, uint64_t dest, uint64_t captbl, uint64_t pgtbl,
                           const char* name, uint64_t name_len) {
  return call(abi::Op::comp_create, ut, dest, captbl, pgtbl, reinterpret_cast<uint64_t>(name),
              name_len);
}
inline int64_t thd_create(uint64_t ut, uint64_t dest, uint64_t comp, uint64_t entry, uint64_t arg) {
  return call(abi::Op::thd_create, ut, dest, comp, entry, arg);
}
inline int64_t thd_start(uint64_t thd, uint64_t stack_top, uint64_t prio) {
  return call(abi::Op::thd_start, thd, stack_top, prio);
}
inline int64_t sinv_create(uint64_t ut, uint64_t dest, uint64_t comp, uint64_t entry, uint64_t token) {
  return call(abi::Op::sinv_create, ut, dest, comp, entry, token);
}
inline int64_t cap_copy(uint64_t captbl, uint64_t dst_index, uint64_t src, uint64_t rights) {
  return call(abi::Op::cap_copy, captbl, dst_index, src, rights);
}
inline int64_t cap_delete(uint64_t slot) { return call(abi::Op::cap_delete, slot); }
inline int64_t cap_revoke(uint64_t slot) { return call(abi::Op::cap_revoke, slot); }
/// type | rights << 8, or a negative error.
inline int64_t cap_info(uint64_t slot) { return call(abi::Op::cap_info, slot); }
inline int64_t pgtbl_map(uint64_t pgtbl, uint64_t va, uint64_t frame, uint64_t page, uint64_t rights,
                         uint64_t ut) {
  return call(abi::Op::pgtbl_map, pgtbl, va, frame, page, rights, ut);
}
inline int64_t pgtbl_unmap(uint64_t pgtbl, uint64_t va) { return call(abi::Op::pgtbl_unmap, pgtbl, va); }
inline int64_t thd_yield() { return call(abi::Op::thd_yield); }
[[noreturn]] inline void thd_exit() {
  call(abi::Op::thd_exit);
  __builtin_unreachable();
}
/// Ends the calling thread's current component (returns only with an error).
inline int64_t comp_exit(uint64_t status, const char* reason, uint64_t len) {
  return call(abi::Op::comp_exit, status, reinterpret_cast<uint64_t>(reason), len);
}
inline int64_t comp_essential(uint64_t comp) { return call(abi::Op::comp_essential, comp); }
inline int64_t rcv_create(uint64_t ut, uint64_t dest) { return retype(ut, dest, abi::ObjType::rcv, 1); }
inline int64_t asnd_create(uint64_t ut, uint64_t dest, uint64_t rcv) {
  return call(abi::Op::asnd_create, ut, dest, rcv);
}
inline int64_t asnd(uint64_t slot) { return call(abi::Op::asnd, slot); }
inline int64_t rcv(uint64_t slot, uint64_t timeout_us = 0, uint64_t flags = 0) {
  return call(abi::Op::rcv, slot, timeout_us, flags);
}
inline int64_t hw_derive(uint64_t hw, uint64_t dest, uint64_t first, uint64_t count) {
  return call(abi::Op::hw_derive, hw, dest, first, count);
}
inline int64_t ioport_in(uint64_t slot, uint64_t port, uint64_t width) {
  return call(abi::Op::ioport_in, slot, port, width);
}
inline int64_t ioport_out(uint64_t slot, uint64_t port, uint64_t width, uint64_t value) {
  return call(abi::Op::ioport_out, slot, port, width, value);
}
inline int64_t irq_bind(uint64_t irq, uint64_t line, uint64_t rcv) {
  return call(abi::Op::irq_bind, irq, line, rcv);
}
inline int64_t timer_bind(uint64_t timer, uint64_t rcv, uint64_t period_us) {
  return call(abi::Op::timer_bind, timer, rcv, period_us);
}
inline int64_t time_now() { return call(abi::Op::time_now); }

// Hardware virtualization (cos/vm.hpp has the vCPU state page).
inline int64_t vm_create(uint64_t ut, uint64_t dest) { return retype(ut, dest, abi::ObjType::vm, 1); }
inline int64_t vm_map(uint64_t vm, uint64_t gpa, uint64_t frame, uint64_t page, uint64_t rights, uint64_t ut) {
  return call(abi::Op::vm_map, vm, gpa, frame, page, rights, ut);
}
inline int64_t vm_unmap(uint64_t vm, uint64_t gpa) { return call(abi::Op::vm_unmap, vm, gpa); }
inline int64_t vcpu_create(uint64_t ut, uint64_t dest, uint64_t vm, uint64_t state_frame, uint64_t exit_rcv,
                           uint64_t priority) {
  return call(abi::Op::vcpu_create, ut, dest, vm, state_frame, exit_rcv, priority);
}
/// Synchronous vCPUs: loads the vm::Load groups in load_mask and runs the
/// guest on this thread until its next exit (returns the vm::ExitReason), a
/// notification on `wake_rcv` (returns 0) or the timeout.
inline int64_t vcpu_run(uint64_t vcpu, uint64_t load_mask, uint64_t wake_rcv, uint64_t timeout_us) {
  return call(abi::Op::vcpu_run, vcpu, load_mask, wake_rcv, timeout_us);
}
/// Asynchronous vCPUs: loads the groups and lets the vCPU's thread run; its
/// next exit notifies the vCPU's exit endpoint.
inline int64_t vcpu_resume(uint64_t vcpu, uint64_t load_mask) { return call(abi::Op::vcpu_resume, vcpu, load_mask); }
/// type: a vm::EventType value.
inline int64_t vcpu_inject(uint64_t vcpu, uint64_t vector, uint64_t type, uint64_t error_code) {
  return call(abi::Op::vcpu_inject, vcpu, vector, type, error_code);
}

/// Console input: on = 1 binds the receive endpoint as a reader, 0 unbinds.
inline int64_t console_bind(uint64_t console, uint64_t rcv, uint64_t on) {
  return call(abi::Op::console_bind, console, rcv, on);
}
/// Copies up to len bytes queued for the reader `rcv`; returns how many.
inline int64_t console_read(uint64_t console, uint64_t rcv, void* buf, uint64_t len) {
  return call(abi::Op::console_read, console, rcv, reinterpret_cast<uint64_t>(buf), len);
}
inline int64_t comp_ceiling(uint64_t comp, uint64_t ceiling) { return call(abi::Op::comp_ceiling, comp, ceiling); }
inline int64_t thd_suspend(uint64_t thd_or_vcpu) { return call(abi::Op::thd_suspend, thd_or_vcpu); }
inline int64_t thd_resume(uint64_t thd_or_vcpu) { return call(abi::Op::thd_resume, thd_or_vcpu); }
inline int64_t thd_kill(uint64_t thd_or_vcpu) { return call(abi::Op::thd_kill, thd_or_vcpu); }
inline int64_t comp_kill(uint64_t comp) { return call(abi::Op::comp_kill, comp); }
/// Places a thread on a CPU (abi::Op::thd_cpu).
inline int64_t thd_cpu(uint64_t thd, uint64_t cpu) { return call(abi::Op::thd_cpu, thd, cpu); }
/// CPUs running the kernel (abi::Op::cpu_count).
inline int64_t cpu_count() { return call(abi::Op::cpu_count); }

/// Result of a synchronous invocation: the server's two return words.
struct SinvResult {
  int64_t r0;
  int64_t r1;
};

/// Synchronous invocation through the gate in `slot` (implemented in
/// sinv.S: it preserves the callee-saved registers around the migration).
extern "C" SinvResult cos_sinv_call(uint64_t slot, uint64_t op, uint64_t a0, uint64_t a1, uint64_t a2);

}  // namespace cos::sys
