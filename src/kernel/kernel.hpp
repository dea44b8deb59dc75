// Kernel-wide state and the operations shared between the syscall layer,
// the trap handlers and boot.
#pragma once
#include <stdint.h>

#include "component.hpp"
#include "run_queue.hpp"
#include "sinv.hpp"
#include "thread.hpp"

namespace cos {

/// The running thread (nullptr while idle).
extern Thread* g_current;
/// Ready threads (the running one is not queued).
extern RunQueue g_run_queue;
/// Started threads that have not exited (the system powers off at zero).
extern uint32_t g_live_threads;

/// Initialises a thread object in `page` (zeroed) to start at `entry` in
/// `comp` with rdi = arg.
Thread* thread_init(void* page, Component* comp, uint64_t entry, uint64_t arg);
/// Makes a created thread runnable with the given stack and priority.
void thread_start(Thread* t, uint64_t stack_top, uint8_t priority);
/// Ends a thread (never runs again).
void thread_kill(Thread* t);

/// Marks `comp` dead; threads executing in it unwind to their callers.
void component_kill(Component* comp);

/// Returns from the innermost invocation(s) of `t` into the nearest live
/// client with rax = r0, rdx = r1; kills `t` if no live client remains.
void invocation_unwind(Thread* t, uint64_t r0, uint64_t r1);

/// Picks the thread to run and resumes it in user mode; idles (and powers off
/// when no thread is live) if none is ready. `preempt` rotates the current
/// thread behind others of its priority.
[[noreturn]] void schedule(bool preempt);

/// Handles the system call whose arguments are in t->regs; stores the result.
void syscall_handle(Thread* t);

}  // namespace cos
