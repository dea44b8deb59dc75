// Fixed-priority scheduling with round robin inside a priority.
#include "console.hpp"
#include "kernel.hpp"
#include "machine.hpp"
#include "platform.hpp"

namespace cos {

Thread* g_current;
RunQueue g_run_queue;
uint32_t g_live_threads;

void thread_start(Thread* t, uint64_t stack_top, uint8_t priority) {
  t->regs.rsp = stack_top;
  t->priority = priority;
  t->state = ThreadState::ready;
  ++g_live_threads;
  g_run_queue.push_back(*t);
}

void thread_kill(Thread* t) {
  if (t->state == ThreadState::dead) return;
  if (t->state == ThreadState::ready) g_run_queue.remove(*t);
  if (t->state != ThreadState::created) --g_live_threads;
  t->state = ThreadState::dead;
  if (g_current == t) g_current = nullptr;
}

void invocation_unwind(Thread* t, uint64_t r0, uint64_t r1) {
  while (t->depth > 0) {
    InvocationFrame& f = t->inv[--t->depth];
    if (!f.client->alive) {
      r0 = static_cast<uint64_t>(abi::Error::comp_dead);
      r1 = 0;
      continue;
    }
    machine::set_invocation_return(t->regs, f.rip, f.rsp, f.rflags, r0, r1);
    t->current = f.client;
    return;
  }
  thread_kill(t);
}

[[noreturn]] void schedule(bool preempt) {
  Thread* next = g_current;
  if (next && next->state == ThreadState::running) {
    int top = g_run_queue.top_priority();
    if (top >= 0 && (top < next->priority || (preempt && top == next->priority))) {
      next->state = ThreadState::ready;
      g_run_queue.push_back(*next);
      next = nullptr;
    }
  } else {
    next = nullptr;
  }
  // A thread whose current component died while it waited unwinds first.
  for (;;) {
    if (!next) next = static_cast<Thread*>(g_run_queue.pop());
    if (!next) break;
    if (next->current->alive) break;
    invocation_unwind(next, static_cast<uint64_t>(abi::Error::comp_dead), 0);
    if (next->state == ThreadState::dead) next = nullptr;
  }
  if (!next) {
    g_current = nullptr;
    if (g_live_threads == 0) {
      kprintf("cos: all threads have exited\n");
      platform::stop(platform::StopReason::clean);
    }
    machine::idle();
  }
  next->state = ThreadState::running;
  g_current = next;
  machine::resume(next);
}

}  // namespace cos
