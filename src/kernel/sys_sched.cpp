// Scheduling authority: comp_ceiling, thd_suspend, thd_resume, thd_kill,
// comp_kill, thd_cpu. Who may do what is decided by capabilities (write on the
// thread, vCPU or component) and by the priority ceiling of the component
// the caller executes in (docs/capabilities.md, "Scheduling authority").
#include "kernel/syscalls.hpp"

namespace cos::sys {
namespace {

/// What a thread or vCPU capability in `slot` (needs write) schedules: the
/// thread, or for a synchronous vCPU (no thread of its own) the vCPU alone.
Error sched_target(Thread* t, uint64_t slot, Thread*& th, Vcpu*& v) {
  th = nullptr;
  v = nullptr;
  Capability* c;
  Error e = caps(t).get(slot, ObjType::none, c, Rights::write);
  if (e != Error::ok) return e;
  if (c->object_type() == ObjType::thread) {
    th = reinterpret_cast<Thread*>(c->w0);
    return Error::ok;
  }
  if (c->object_type() != ObjType::vcpu) return Error::wrong_type;
  v = reinterpret_cast<Vcpu*>(c->w0);
  th = v->thread;
  return Error::ok;
}

}  // namespace

int64_t comp_ceiling(Thread* t, uint64_t comp_slot, uint64_t ceiling) {
  Component* c;
  Error e = caps(t).get(comp_slot, Rights::write, c);
  if (e != Error::ok) return err(e);
  if (ceiling > 255) return err(Error::bad_argument);
  if (ceiling < t->current->priority_ceiling) return err(Error::above_ceiling);
  c->priority_ceiling = static_cast<uint8_t>(ceiling);
  return 0;
}

int64_t thd_suspend(Thread* t, uint64_t slot, bool suspend) {
  Thread* th;
  Vcpu* v;
  Error e = sched_target(t, slot, th, v);
  if (e != Error::ok) return err(e);
  if (!th) return err(Error::vcpu_mode);
  if (th->state == ThreadState::dead) return err(Error::comp_dead);
  if (!suspend) {
    thread_resume(th);
    return 0;
  }
  return err(thread_sched_request(th, SchedPending::suspend));
}

int64_t thd_kill(Thread* t, uint64_t slot) {
  Thread* th;
  Vcpu* v;
  Error e = sched_target(t, slot, th, v);
  if (e != Error::ok) return err(e);
  if (!th) {  // a synchronous vCPU: a thread running it now leaves it at its next iteration
    if (v->dead) return err(Error::comp_dead);
    v->dead = true;
    if (v->runner)  // in its guest on another CPU: out now
      if (const int cpu = cpu_running(v->runner); cpu >= 0) platform::cpu_kick(static_cast<unsigned>(cpu));
    return 0;
  }
  return err(thread_sched_request(th, SchedPending::kill));
}

int64_t comp_kill(Thread* t, uint64_t comp_slot) {
  Component* c;
  Error e = caps(t).get(comp_slot, Rights::write, c);
  if (e != Error::ok) return err(e);
  if (!c->alive) return err(Error::comp_dead);
  component_kill(c);
  return 0;
}

int64_t thd_cpu(Thread* t, uint64_t slot, uint64_t cpu) {
  Capability* c;
  Error e = caps(t).get(slot, ObjType::none, c, Rights::write);
  if (e != Error::ok) return err(e);
  Thread* th;
  if (c->object_type() == ObjType::vcpu) {  // an asynchronous vCPU's own thread
    auto* v = reinterpret_cast<Vcpu*>(c->w0);
    if (!v->thread) return err(Error::wrong_type);  // a synchronous one runs where its caller does
    th = v->thread;
  } else if (c->object_type() == ObjType::thread) {
    th = reinterpret_cast<Thread*>(c->w0);
  } else {
    return err(Error::wrong_type);
  }
  if (cpu >= platform::cpus_online()) return err(Error::bad_argument);
  if (th->state == ThreadState::dead) return err(Error::comp_dead);
  if (th->cpu == cpu) return 0;
  const bool queued = th->state == ThreadState::ready;
  if (queued) g_cpu_local[th->cpu].run_queue.remove(*th);
  th->cpu = static_cast<uint8_t>(cpu);
  if (const int there = cpu_running(th); there >= 0) {
    // Running: its CPU moves it at its next schedule (this one after the
    // call returns, another one now).
    platform::cpu_kick(static_cast<unsigned>(there));
    return 0;
  }
  thread_fpu_release(th);  // its registers may still be live where it ran last
  if (queued) thread_make_ready(th);
  return 0;
}

}  // namespace cos::sys
