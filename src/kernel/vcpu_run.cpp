// Running vCPUs: the portable half of the VM-exit path. The backend half,
// entering the guest and decoding its exit, is vcpu_enter in
// x86_64/vmx/exit.cpp and x86_64/svm/exit.cpp.
//
// Synchronous vCPUs (the common path, seL4 VMEnter style): the VMM thread
// calling vcpu_run enters the guest itself, and the call returns with the
// next exit; no scheduler and no second thread lie between the exit and the
// VMM's handler:
//
//   vcpu_run -> load state -> guest_loop: vcpu_enter ... exit -> save state
//            -> set rax = exit reason -> resume the thread in user mode
//
// Asynchronous vCPUs have their own thread that runs the same loop; an exit
// stops it and notifies the vCPU's exit endpoint (vcpu_resume answers).
// Host interrupts end a guest run like they interrupt user code: the loop
// gives the CPU away if schedule() would, and the thread re-enters the
// guest when it runs again (platform::resume calls vcpu_guest_loop).
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"
#include "kernel/state_page_copy.hpp"
#include "kernel/syscalls.hpp"

namespace cos {
namespace {

/// Loads the groups of `mask` from the state page, the injection through
/// the same checks as vcpu_inject. bad_guest_state: nothing is loaded.
Error load_state(Vcpu* v, uint64_t mask) {
  vm::StatePage s;  // only the groups of `mask` are filled in
  copy_load_groups(s, *v->state, mask);
  PendingEvent ev{};
  if ((mask & vm::Load::inject) &&
      vcpu_make_event(s.inject.vector, s.inject.type, s.inject.error_code, ev) != Error::ok)
    return Error::bad_guest_state;
  if (ev.valid && s.inject.has_error_code != ev.has_error_code) return Error::bad_guest_state;
  Error e = platform::virt()->vcpu_load(v, s, mask & vm::Load::all & ~vm::Load::inject);
  if (e != Error::ok) return e;
  // An external interrupt waits until the guest can take it; the other
  // kinds are delivered at the next entry.
  if (ev.valid) (ev.type == vm::EventType::external_interrupt ? v->pending_irq : v->pending_exc) = ev;
  v->window_requested_by_vmm = (s.request & vm::Request::interrupt_window) != 0;
  return Error::ok;
}

/// Ends a synchronous run: the thread leaves the guest and returns from
/// vcpu_run with `result` (rdx = `count`).
[[noreturn]] void finish_run(Thread* t, Vcpu* v, int64_t result, uint64_t count) {
  t->guest = nullptr;
  v->runner = nullptr;
  if (RcvEndpoint* w = t->wake) {
    t->wake = nullptr;
    obj_unref(w);
  }
  obj_unref(v);
  platform::set_syscall_result(t, result, count);
  if (reap_pending()) schedule(false);  // the vCPU or endpoint was deleted meanwhile
  platform::resume(t);
}

/// A synchronous run ends without an exit (notification or timeout): the
/// state page is made current so the VMM may edit and load it.
[[noreturn]] void finish_without_exit(Thread* t, Vcpu* v, int64_t result, uint64_t count) {
  vm::StatePage& s = *v->state;
  platform::virt()->vcpu_save(v, s, s.save_mask);
  s.exit = vm::Exit{};
  s.irq_pending = v->pending_irq.valid ? 1 : 0;
  finish_run(t, v, result, count);
}

/// Hands an asynchronous vCPU's exit to its VMM: the thread stops until
/// vcpu_resume, the exit endpoint is notified.
[[noreturn]] void deliver_async(Thread* t, Vcpu* v) {
  v->state->exit_pending = 1;
  v->run = VcpuRun::stopped;
  t->state = ThreadState::stopped;
  --g_live_threads;  // a stopped vCPU waits for its VMM, which is live itself
  current() = nullptr;
  rcv_notify(v->exit_ep);
  schedule(false);
}

}  // namespace

void vcpu_guest_loop(Thread* t) {
  Vcpu* v = t->guest;
  const platform::VirtBackend& backend = *platform::virt();
  for (;;) {
    if (v->dead) finish_run(t, v, static_cast<int64_t>(Error::comp_dead), 0);  // thd_kill while preempted
    if (RcvEndpoint* w = t->wake; w && w->pending) {
      uint64_t n = w->pending;
      w->pending = 0;
      finish_without_exit(t, v, 0, n);
    }
    if (t->guest_deadline && platform::time_us() >= t->guest_deadline)
      finish_without_exit(t, v, static_cast<int64_t>(Error::timeout), 0);

    platform::fpu_activate(v->fpu);
    vm::Exit exit;
    platform::ExitAction a = backend.vcpu_enter(v, exit);
    ++v->state->exits;
    if (a != platform::ExitAction::forward) {
      // Handled in the kernel. A guest that makes the kernel handle exit
      // after exit (a #DB or #AC reflected while it is delivered) must not
      // keep the CPU either: the host takes its interrupts and the scheduler
      // its chance, as after a host interrupt.
      if (a == platform::ExitAction::resume) platform::interrupts_poll();
      if (preemption_due(t)) schedule(false);  // back here through platform::resume when it runs again
      continue;
    }
    vm::StatePage& s = *v->state;
    backend.vcpu_save(v, s, s.save_mask);
    s.exit = exit;
    s.irq_pending = v->pending_irq.valid ? 1 : 0;
    if (v->thread == t) deliver_async(t, v);
    finish_run(t, v, static_cast<int64_t>(exit.reason), 0);
  }
}

void vcpu_run_abandoned(Thread* t) {
  Vcpu* v = t->guest;
  if (!v) return;
  if (v->thread == t) {  // an asynchronous vCPU's own thread: the vCPU keeps it
    v->run = VcpuRun::stopped;
    return;
  }
  t->guest = nullptr;
  v->runner = nullptr;
  if (t->wake) obj_unref(t->wake);
  t->wake = nullptr;
  obj_unref(v);
}

namespace sys {

int64_t vcpu_run(Thread* t, uint64_t vcpu_slot, uint64_t mask, uint64_t wake_slot, uint64_t timeout_us) {
  Vcpu* v;
  RcvEndpoint* wake = nullptr;
  Error e = caps(t).get(vcpu_slot, Rights::write, v);
  if (e == Error::ok && wake_slot != 0) e = caps(t).get(wake_slot, Rights::read, wake);
  if (e != Error::ok) return err(e);
  if (v->thread) return err(Error::vcpu_mode);
  if (v->dead) return err(Error::comp_dead);
  if (v->runner) return err(Error::vcpu_running);
  if ((e = load_state(v, mask)) != Error::ok) return err(e);
  v->runner = t;
  obj_ref(v);
  t->guest = v;
  t->wake = wake;
  if (wake) obj_ref(wake);
  t->guest_deadline = timeout_us ? platform::time_us() + (timeout_us < (1ull << 40) ? timeout_us : (1ull << 40)) : 0;
  vcpu_guest_loop(t);
}

int64_t vcpu_resume(Thread* t, uint64_t vcpu_slot, uint64_t mask) {
  Vcpu* v;
  Error e = caps(t).get(vcpu_slot, Rights::write, v);
  if (e != Error::ok) return err(e);
  Thread* th = v->thread;
  if (!th) return err(Error::vcpu_mode);
  if (th->state == ThreadState::dead) return err(Error::comp_dead);
  if (v->run != VcpuRun::stopped) return err(Error::vcpu_running);
  if ((e = load_state(v, mask)) != Error::ok) return err(e);
  v->state->exit_pending = 0;
  v->run = VcpuRun::runnable;
  if (th->state == ThreadState::created) {
    thread_start(th, 0, th->priority);
  } else {
    ++g_live_threads;
    thread_make_ready(th);
  }
  return 0;
}

}  // namespace sys
}  // namespace cos
