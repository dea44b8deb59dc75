// Fixed-priority scheduling with round robin inside a priority, blocking in
// rcv with timeouts, and the kernel tick.
#include "kernel/console.hpp"
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"

namespace cos {

CpuLocal g_cpu_local[cos_limits::kMaxCpus];
uint32_t g_live_threads;
uint32_t g_essential_live;
bool g_essential_started;
uint64_t g_ticks;

namespace {

using TimeoutList = boost::intrusive::list<Thread, boost::intrusive::base_hook<TimeoutHook>,
                                           boost::intrusive::constant_time_size<false>>;
using TimerList = boost::intrusive::list<RcvEndpoint, boost::intrusive::base_hook<TimerListHook>,
                                         boost::intrusive::constant_time_size<false>>;
TimeoutList g_timeouts;  // ordered by deadline
TimerList g_timers;

Thread* as_thread(SchedEntity* e) { return static_cast<Thread*>(e); }

// Wakes a blocked thread with `result` in rax.
void wake(Thread* t, int64_t result) {
  if (t->TimeoutHook::is_linked()) g_timeouts.erase(g_timeouts.iterator_to(*t));
  RcvEndpoint* ep = t->blocked_on;
  if (t->SchedEntity::is_linked()) ep->waiters.erase(ep->waiters.iterator_to(*t));
  t->blocked_on = nullptr;
  obj_unref(ep);
  t->regs.rax = static_cast<uint64_t>(result);
  thread_make_ready(t);
}

RunQueue& queue_of(const Thread* t) { return g_cpu_local[t->cpu].run_queue; }

/// The CPU running `t` if that is another one than this, else -1: such a
/// thread's frame and vCPU are that CPU's (kernel/kernel_lock.hpp), so a
/// change of its state waits for that CPU to enter the kernel.
int running_elsewhere(const Thread* t) {
  const int cpu = cpu_running(t);
  return cpu == static_cast<int>(platform::this_cpu()) ? -1 : cpu;
}

/// Leaves a thd_suspend / thd_kill to the CPU running `t`, which it kicks.
void defer_to_cpu(Thread* t, SchedPending what, int cpu) {
  if (t->pending != SchedPending::kill) t->pending = what;
  platform::cpu_kick(static_cast<unsigned>(cpu));
}

/// True when a pending thd_suspend / thd_kill of `t` can take effect now:
/// it is not inside a live server (kernel/kernel.hpp, thread_sched_request).
bool pending_applicable(const Thread* t) {
  return t->pending != SchedPending::none && !(t->depth > 0 && t->current != t->home && t->current->alive);
}

/// No thread runs or is ready on any CPU.
bool all_cpus_idle() {
  const unsigned n = platform::cpus_online();
  for (unsigned cpu = 0; cpu < n; ++cpu)
    if (g_cpu_local[cpu].current || !g_cpu_local[cpu].run_queue.empty()) return false;
  return true;
}

// thd_suspend / thd_kill that waited for `t` to return home take effect.
void apply_pending(Thread* t) {
  SchedPending p = t->pending;
  t->pending = SchedPending::none;
  if (p == SchedPending::kill) thread_kill(t);
  else if (p == SchedPending::suspend) thread_suspend(t);
}

}  // namespace

int cpu_running(const Thread* t) {
  const unsigned n = platform::cpus_online();
  for (unsigned cpu = 0; cpu < n; ++cpu)
    if (g_cpu_local[cpu].current == t) return static_cast<int>(cpu);
  return -1;
}

Thread* thread_init(void* page, Component* comp, uint64_t entry, uint64_t arg) {
  auto* t = static_cast<Thread*>(page);
  platform::thread_context_init(t, entry, arg);
  static uint32_t next_id = 1;
  t->home = comp;
  obj_ref(comp);
  comp->threads.push_back(*t);
  t->current = comp;
  t->id = next_id++;
  t->state = ThreadState::created;
  return t;
}

void thread_start(Thread* t, uint64_t stack_top, uint8_t priority) {
  t->regs.rsp = stack_top;
  t->priority = priority;
  ++g_live_threads;
  if (t->home->live_threads++ == 0 && t->home->ends_run) {
    ++g_essential_live;
    g_essential_started = true;
  }
  obj_ref(t);  // a live thread keeps itself
  thread_make_ready(t);
}

void thread_fpu_release(Thread* t) {
  platform::fpu_release(t->fpu);
  if (t->guest) platform::fpu_release(t->guest->fpu);
}

void thread_make_ready(Thread* t) {
  if (t->suspended) {
    t->state = ThreadState::suspended;
    return;
  }
  t->state = ThreadState::ready;
  t->quantum_left = 0;  // it blocked or was held: a fresh quantum
  queue_of(t).push_back(*t);
  // Another CPU's queue: that CPU looks at it now if it idles or runs a
  // lower priority (an equal one gets its turn at the next tick).
  if (t->cpu != platform::this_cpu()) {
    const Thread* there = g_cpu_local[t->cpu].current;
    if (!there || t->priority < there->priority) platform::cpu_kick(t->cpu);
  }
}

void thread_suspend(Thread* t) {
  t->suspended = true;
  switch (t->state) {
    case ThreadState::ready:
      queue_of(t).remove(*t);
      t->state = ThreadState::suspended;
      break;
    case ThreadState::running:  // on this CPU (thread_sched_request defers the others)
      t->state = ThreadState::suspended;
      if (current() == t) current() = nullptr;
      break;
    default:  // created, blocked, stopped: parked when it would become ready
      break;
  }
}

void thread_resume(Thread* t) {
  if (t->pending == SchedPending::suspend) t->pending = SchedPending::none;
  if (!t->suspended) return;
  t->suspended = false;
  if (t->state == ThreadState::suspended) thread_make_ready(t);
}

Error thread_sched_request(Thread* t, SchedPending what) {
  if (t->state == ThreadState::dead) return Error::comp_dead;
  // Inside a server: the server must not be left holding a suspended or
  // ended thread in the middle of its work; it happens on the way home.
  if (t->depth > 0 && t->current != t->home && t->current->alive) {
    if (t->pending != SchedPending::kill) t->pending = what;
    return Error::ok;
  }
  if (const int cpu = running_elsewhere(t); cpu >= 0) {
    defer_to_cpu(t, what, cpu);
    return Error::ok;
  }
  t->pending = SchedPending::none;
  if (what == SchedPending::kill) thread_kill(t);
  else thread_suspend(t);
  return Error::ok;
}

void thread_block(Thread* t, RcvEndpoint* ep, uint64_t deadline) {
  t->state = ThreadState::blocked;
  t->blocked_on = ep;
  obj_ref(ep);
  ep->waiters.push_back(*t);
  t->deadline = deadline;
  if (deadline) {
    auto it = g_timeouts.begin();
    while (it != g_timeouts.end() && it->deadline <= deadline) ++it;
    g_timeouts.insert(it, *t);
  }
  if (current() == t) current() = nullptr;
}

void thread_kill(Thread* t) {
  if (t->state == ThreadState::dead) return;
  if (const int cpu = running_elsewhere(t); cpu >= 0) {  // ends when that CPU enters the kernel
    defer_to_cpu(t, SchedPending::kill, cpu);
    return;
  }
  if (t->state == ThreadState::ready) queue_of(t).remove(*t);
  if (t->state == ThreadState::blocked) {
    t->suspended = false;  // wake() must not park it: it is taken off the queue at once
    wake(t, 0);
    queue_of(t).remove(*t);
  }
  if (t->guest) vcpu_run_abandoned(t);
  syscall_abandon(t);
  while (t->depth > 0) obj_unref(t->inv[--t->depth].server);
  t->current = t->home;
  bool started = t->state != ThreadState::created;
  bool counted = started && t->state != ThreadState::stopped;  // stopped vCPUs are not counted live
  t->state = ThreadState::dead;
  if (current() == t) current() = nullptr;
  if (counted) --g_live_threads;
  if (started && --t->home->live_threads == 0 && t->home->ends_run) --g_essential_live;
  if (started) obj_unref(t);
}

void invocation_unwind(Thread* t, uint64_t r0, uint64_t r1) {
  syscall_abandon(t);  // its registers are about to change
  while (t->depth > 0) {
    InvocationFrame f = t->inv[--t->depth];
    obj_unref(f.server);
    if (!f.client->alive) {
      r0 = static_cast<uint64_t>(abi::Error::comp_dead);
      r1 = 0;
      continue;
    }
    platform::set_invocation_return(t, f.rip, f.rsp, f.rflags, r0, r1);
    t->current = f.client;
    if (t->depth == 0 && t->pending != SchedPending::none) apply_pending(t);
    return;
  }
  thread_kill(t);
}

void component_kill(Component* comp) {
  comp->alive = false;
  for (Thread& t : comp->threads) {
    if (t.state == ThreadState::dead) continue;
    // At home (or in another dead component): ends now. Inside a live
    // server: ends when it returns, which it cannot do into `comp` anyway.
    if (t.current == comp || !t.current->alive) thread_kill(&t);
    else t.pending = SchedPending::kill;
  }
}

void rcv_notify(RcvEndpoint* ep) {
  if (ep->waiters.empty()) {
    if (ep->pending < ~0ull) ++ep->pending;
    // The wake-up endpoint of a vcpu_run in its guest on another CPU: out
    // of the guest now, so that the run ends (vcpu_guest_loop).
    for (unsigned cpu = 0; cpu < platform::cpus_online(); ++cpu) {
      const Thread* c = g_cpu_local[cpu].current;
      if (cpu != platform::this_cpu() && c && c->guest && c->wake == ep) platform::cpu_kick(cpu);
    }
    return;
  }
  wake(as_thread(&ep->waiters.front()), 1);
}

void timer_set(RcvEndpoint* ep, uint64_t period_us) {
  if (ep->TimerListHook::is_linked()) {
    g_timers.erase(g_timers.iterator_to(*ep));
    obj_unref(ep);
  }
  ep->period_us = period_us;
  if (period_us) {
    ep->next_us = platform::time_us() + period_us;
    obj_ref(ep);
    g_timers.push_back(*ep);
  }
}

void rcv_orphaned(RcvEndpoint* ep) {
  if (ep->TimerListHook::is_linked()) timer_set(ep, 0);
  if (ep->irq_line >= 0) irq_bind(static_cast<unsigned>(ep->irq_line), nullptr);
  console_endpoint_orphaned(ep);
}

bool timer_tick() {
  // Time, timeouts and periodic timers are CPU 0's; every CPU's tick counts
  // down the quantum of the thread it runs.
  if (platform::this_cpu() == 0) {
    ++g_ticks;
    uint64_t now = platform::time_us();
    while (!g_timeouts.empty() && g_timeouts.front().deadline <= now)
      wake(&g_timeouts.front(), static_cast<int64_t>(abi::Error::timeout));
    for (RcvEndpoint& ep : g_timers) {
      if (ep.next_us <= now) {
        ep.next_us += ep.period_us;
        if (ep.next_us <= now) ep.next_us = now + ep.period_us;  // missed periods are not queued up
        rcv_notify(&ep);
      }
    }
  }
  // The running thread's quantum (a thread interrupted in the idle loop or
  // while in the kernel with none current has none).
  Thread* c = current();
  if (!c || c->quantum_left == 0) return false;
  return --c->quantum_left == 0;
}

bool wakeups_possible() { return !g_timeouts.empty() || !g_timers.empty() || platform::irqs_bound(); }

bool preemption_due(Thread* t) {
  if (reap_pending() || pending_applicable(t) || t->cpu != platform::this_cpu()) return true;
  int top = run_queue().top_priority();
  if (top < 0) return false;
  return top < t->priority || (g_cpu_local[platform::this_cpu()].rotate_pending && top == t->priority);
}

bool idle_work() {
  WorkBudget budget(kWorkPerEntry);
  return !reap(nullptr, budget);
}

[[noreturn]] void schedule(bool preempt) {
  // Objects released outside a system call's own list are destroyed here, a
  // bounded amount per kernel entry (and by the idle loop).
  WorkBudget budget(kWorkPerEntry);
  if (reap_pending()) reap(nullptr, budget);
  CpuLocal& here = g_cpu_local[platform::this_cpu()];
  preempt |= here.rotate_pending;
  here.rotate_pending = false;
  // A thd_kill / thd_suspend another CPU left for this one (it kicked us).
  if (Thread* c = here.current; c && c->state == ThreadState::running && pending_applicable(c)) apply_pending(c);
  Thread* next = here.current;
  if (next && next->state == ThreadState::running && next->cpu != platform::this_cpu()) {
    // Moved to another CPU (thd_cpu): it continues there.
    thread_fpu_release(next);
    here.current = nullptr;
    thread_make_ready(next);
    next = nullptr;
  } else if (next && next->state == ThreadState::running) {
    int top = here.run_queue.top_priority();
    if (top >= 0 && top < next->priority) {
      // Preempted: first of its priority again, unless its quantum ended too.
      next->state = ThreadState::ready;
      if (next->quantum_left) here.run_queue.push_front(*next);
      else here.run_queue.push_back(*next);
      next = nullptr;
    } else if (top >= 0 && preempt && top == next->priority) {  // round robin
      next->state = ThreadState::ready;
      next->quantum_left = 0;
      here.run_queue.push_back(*next);
      next = nullptr;
    }
  } else {
    next = nullptr;
  }
  // A thread whose current component died while it waited unwinds first.
  for (;;) {
    if (!next) next = as_thread(here.run_queue.pop());
    if (!next) break;
    if (next->current->alive) break;
    invocation_unwind(next, static_cast<uint64_t>(abi::Error::comp_dead), 0);
    // It ended, or a pending thd_suspend parked it on the way home.
    if (next->state == ThreadState::dead || next->state == ThreadState::suspended) next = nullptr;
    if (reap_pending()) reap(nullptr, budget);
  }
  // Every essential component (the VMMs, by default) has ended, each with
  // status 0 (a failure stopped the machine already): the run is over, even
  // if servers such as a block component still wait for requests.
  if (g_essential_started && g_essential_live == 0) {
    kprintf("cos: every essential component has ended\n");
    platform::stop(platform::StopReason::clean);
  }
  if (!next) {
    current() = nullptr;
    // The run ends when no CPU has anything to run and nothing can change
    // that; while one does, its threads may still wake the others'.
    if (all_cpus_idle()) {
      if (g_live_threads == 0) {
        kprintf("cos: all threads have exited\n");
        platform::stop(platform::StopReason::clean);
      }
      if (!wakeups_possible()) {
        kprintf("cos: %u threads blocked with nothing left to wake them\n", g_live_threads);
        platform::stop(platform::StopReason::clean);
      }
    }
    platform::idle();
  }
  if (next->quantum_left == 0) next->quantum_left = abi::kQuantumTicks;
  next->state = ThreadState::running;
  current() = next;
  platform::resume(next);
}

}  // namespace cos
