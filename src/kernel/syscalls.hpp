// The system-call handlers (one file per group), called by syscall.cpp.
// Each returns rax: 0, a non-negative result, or a negative abi::Error.
#pragma once
#include <stdint.h>

#include "kernel/kernel.hpp"

namespace cos::sys {

namespace Rights = abi::Rights;
inline int64_t err(Error e) { return static_cast<int64_t>(e); }
/// Returned by an operation whose work budget ran out before it was done
/// (never seen by user code): syscall_handle makes the thread execute the
/// call again, and the operation continues from the state it left.
inline constexpr int64_t kRestart = INT64_MIN;
inline CapTable& caps(Thread* t) { return t->current->captbl; }

/// The untyped object in `slot` (needs write), and its capability: objects
/// made from it are installed as children of that capability, so revoking
/// the untyped deletes them.
Error get_untyped(Thread* t, uint64_t slot, Untyped*& out, Capability** cap = nullptr);

/// Where a create call puts its object: the untyped it is carved from (and
/// that untyped's capability, the new capability's parent) and the empty
/// destination slot.
struct CreateTarget {
  Untyped* ut;
  Capability* utc;
  Capability* slot;
};
/// Checks a create call's untyped (needs write) and destination slot, in that order.
Error create_target(Thread* t, uint64_t ut_slot, uint64_t dest, CreateTarget& out);
/// Installs a capability with all rights to the new object `o` in the target slot.
void install_object(const CreateTarget& target, ObjType type, KObject* o);

/// A frame page about to be mapped (pgtbl_map, vm_map) and where page-table
/// pages come from.
struct MapSource {
  uint64_t pa;
  uint64_t pages_from_pa;  ///< pages of the frame from pa to its end
  PageMeta* meta;
  Untyped* ut;
};
/// Checks the frame capability, page index, rights (read plus optionally
/// write/exec, all held by the frame) and the untyped for table pages.
Error frame_page_for_map(Thread* t, uint64_t frame_slot, uint64_t index, uint64_t rights, uint64_t ut_slot,
                         MapSource& out);

// sys_memory.cpp
int64_t retype(Thread* t, uint64_t ut, uint64_t dest, uint64_t type, uint64_t npages);
int64_t pgtbl_map(Thread* t, uint64_t pt, uint64_t va, uint64_t frame, uint64_t index, uint64_t rights,
                  uint64_t ut);
int64_t pgtbl_unmap(Thread* t, uint64_t pt, uint64_t va);
// sys_caps.cpp
int64_t cap_copy(Thread* t, uint64_t captbl, uint64_t index, uint64_t src, uint64_t rights);
int64_t cap_delete(Thread* t, uint64_t slot);
/// Revokes in budget-sized steps: kRestart until every descendant is gone.
int64_t cap_revoke(Thread* t, uint64_t slot, WorkBudget& budget);
int64_t cap_info(Thread* t, uint64_t slot);
// sys_threads.cpp
int64_t comp_create(Thread* t, uint64_t ut, uint64_t dest, uint64_t ct, uint64_t pt, uint64_t name,
                    uint64_t len);
int64_t thd_create(Thread* t, uint64_t ut, uint64_t dest, uint64_t comp, uint64_t entry, uint64_t arg);
int64_t thd_start(Thread* t, uint64_t thd, uint64_t stack_top, uint64_t prio);
int64_t sinv_create(Thread* t, uint64_t ut, uint64_t dest, uint64_t comp, uint64_t entry, uint64_t token);
void sinv(Thread* t);
void sret(Thread* t);
// sys_notify.cpp
int64_t asnd_create(Thread* t, uint64_t ut, uint64_t dest, uint64_t rcv);
int64_t asnd(Thread* t, uint64_t slot);
/// Returns true if the thread blocked (its result arrives when it wakes).
bool rcv(Thread* t, uint64_t slot, uint64_t timeout_us, uint64_t flags, int64_t& ret);
int64_t timer_bind(Thread* t, uint64_t timer, uint64_t rcv, uint64_t period_us);
// sys_hw.cpp
int64_t hw_derive(Thread* t, uint64_t hw, uint64_t dest, uint64_t first, uint64_t count);
int64_t ioport_in(Thread* t, uint64_t slot, uint64_t port, uint64_t width);
int64_t ioport_out(Thread* t, uint64_t slot, uint64_t port, uint64_t width, uint64_t value);
int64_t irq_bind(Thread* t, uint64_t irq, uint64_t line, uint64_t rcv);

// sys_sched.cpp
int64_t comp_ceiling(Thread* t, uint64_t comp, uint64_t ceiling);
/// thd_suspend (suspend = true) and thd_resume.
int64_t thd_suspend(Thread* t, uint64_t slot, bool suspend);
int64_t thd_kill(Thread* t, uint64_t slot);
int64_t comp_kill(Thread* t, uint64_t comp);
/// thd_cpu(slot, cpu) (abi::Op::thd_cpu).
int64_t thd_cpu(Thread* t, uint64_t slot, uint64_t cpu);

// comp_exit.cpp
/// Ends t's current component and reschedules; returns only on a bad argument.
int64_t comp_exit(Thread* t, uint64_t status, uint64_t reason, uint64_t len);
int64_t comp_essential(Thread* t, uint64_t comp);

// sys_console.cpp
int64_t console_bind(Thread* t, uint64_t console, uint64_t rcv, uint64_t on);
int64_t console_read(Thread* t, uint64_t console, uint64_t rcv, uint64_t buf, uint64_t len);
// vm.cpp
int64_t vm_create(Thread* t, Untyped* ut, Capability& made);
int64_t vm_map(Thread* t, uint64_t vm, uint64_t gpa, uint64_t frame, uint64_t index, uint64_t rights,
               uint64_t ut);
int64_t vm_unmap(Thread* t, uint64_t vm, uint64_t gpa);
// vcpu.cpp
int64_t vcpu_create(Thread* t, uint64_t ut, uint64_t dest, uint64_t vm, uint64_t frame, uint64_t rcv,
                    uint64_t prio);
int64_t vcpu_inject(Thread* t, uint64_t vcpu, uint64_t vector, uint64_t type, uint64_t error_code);
// vcpu_run.cpp
/// Returns only with an error; otherwise the thread enters the guest and
/// returns to user mode from the guest loop.
int64_t vcpu_run(Thread* t, uint64_t vcpu, uint64_t mask, uint64_t wake, uint64_t timeout_us);
int64_t vcpu_resume(Thread* t, uint64_t vcpu, uint64_t mask);

}  // namespace cos::sys
