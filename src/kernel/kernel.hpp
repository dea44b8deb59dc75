// Kernel-wide state and the operations shared between the syscall layer,
// the trap handlers and boot.
#pragma once
#include <stdint.h>

#include "kernel/component.hpp"
#include "kernel/rcv.hpp"
#include "kernel/run_queue.hpp"
#include "kernel/sinv.hpp"
#include "kernel/thread.hpp"
#include "kernel/untyped.hpp"
#include "kernel/vcpu.hpp"
#include "cos/limits.hpp"
#include "x86_64/this_cpu.hpp"

namespace cos {

/// What the kernel keeps for each CPU (indexed by platform::this_cpu()).
struct CpuLocal {
  Thread* current;     ///< the thread running on that CPU (nullptr while idle)
  RunQueue run_queue;  ///< its ready threads (Thread::cpu names it; the running one is not queued)
  /// Set when a tick ended the running thread's quantum while the kernel
  /// could not reschedule at once (a vCPU exit path); consumed by the next
  /// schedule on that CPU.
  bool rotate_pending;
};
extern CpuLocal g_cpu_local[cos_limits::kMaxCpus];
/// The thread running on this CPU (nullptr while idle).
inline Thread*& current() { return g_cpu_local[platform::this_cpu()].current; }
/// This CPU's ready threads.
inline RunQueue& run_queue() { return g_cpu_local[platform::this_cpu()].run_queue; }
/// The CPU `t` runs on now, or -1 when it runs nowhere.
int cpu_running(const Thread* t);
/// Started threads that have not exited (the system powers off at zero
/// unless a thread waits with a timeout, an IRQ or a periodic timer).
extern uint32_t g_live_threads;
/// Components marked essential (Component::ends_run) with live threads, and
/// whether any ever had one: when the count returns to 0 the run ends.
extern uint32_t g_essential_live;
extern bool g_essential_started;
/// Kernel ticks (abi::kTickUs each) since the timer started.
extern uint64_t g_ticks;

// --- capabilities (capops.cpp) ---------------------------------------------
/// Fills empty slot `dst` as a copy of `src` with `rights`, derived from
/// `parent` in the CDT, and takes the object's capability reference.
void cap_install(Capability* dst, const Capability& src, uint8_t rights, Capability* parent);
/// Empties a slot: unlinks it from the CDT (its children move up to its
/// parent) and drops its object reference. Constant work; an object left
/// without capabilities and references is only queued for destruction.
void cap_remove(Capability* c);
/// Removes descendants of `c` until none is left (true) or `budget` is spent
/// (false: call again to continue); one unit per capability removed.
bool cap_revoke(Capability* c, WorkBudget& budget);
/// The kernel object a capability names, or nullptr (frames, hardware).
KObject* cap_object(const Capability& c);

// --- memory (objects.cpp) ----------------------------------------------------
/// A capability to the frame object starting at head_pa was removed.
void frame_cap_dropped(uint64_t head_pa);
/// A page-table entry (user or guest), or a vCPU state page, now maps frame
/// page `pa` (its maps count is below kMaxPageMaps).
void frame_page_mapped(uint64_t pa);
/// A page-table entry mapping frame page `pa` was removed; a frame no longer
/// mapped nor named by a capability is queued for destruction.
void frame_page_unmapped(uint64_t pa);
/// An intermediate page-table page is no longer used.
void pgtable_page_freed(uint64_t pa);
/// Creates a kernel object of `pages` zeroed pages from `ut`.
template <typename T>
Error obj_create(Untyped* ut, ObjType type, uint32_t pages, T*& out);

// --- threads and scheduling (sched.cpp) --------------------------------------
/// Initialises a thread object in its (zeroed) page to start at `entry` in
/// `comp` with rdi = arg.
Thread* thread_init(void* page, Component* comp, uint64_t entry, uint64_t arg);
/// Makes a created thread runnable with the given stack and priority.
void thread_start(Thread* t, uint64_t stack_top, uint8_t priority);
/// Ends a thread (never runs again); releases what it holds.
void thread_kill(Thread* t);
/// Makes a ready/blocked-woken thread runnable (or parks it, state
/// suspended, while thd_suspend holds it).
void thread_make_ready(Thread* t);
/// Writes back `t`'s FPU state, and that of the guest it runs, wherever it
/// is live (another CPU's registers, lazily switched): before `t` runs on
/// another CPU.
void thread_fpu_release(Thread* t);
/// Holds `t` off the CPU until thread_resume: taken off the run queue if
/// ready, parked later if blocked, stopped or not started.
void thread_suspend(Thread* t);
/// Undoes thread_suspend (and a pending one).
void thread_resume(Thread* t);
/// thd_suspend / thd_kill of `t` (what = suspend or kill): at once, or, for
/// a thread executing inside another live component, when its invocations
/// have returned home. Errors: comp_dead (the thread has ended).
Error thread_sched_request(Thread* t, SchedPending what);
/// Blocks the current thread in rcv on `ep` until notified or until kernel
/// time `deadline` in microseconds (0: none). Its rax receives the result when it wakes.
void thread_block(Thread* t, RcvEndpoint* ep, uint64_t deadline);
/// Marks `comp` dead and ends its threads (those inside other components
/// when they return); other threads executing in it unwind to their callers.
void component_kill(Component* comp);
/// An essential component ended with `status` (a fault, or comp_exit != 0):
/// prints `cos: shutdown: essential component '<name>' stopped (status <s>):
/// <reason>` and stops the machine (comp_exit.cpp).
[[noreturn]] void essential_component_stopped(Component* c, unsigned status, const char* reason);
/// Returns from the innermost invocation(s) of `t` into the nearest live
/// client with rax = r0, rdx = r1; kills `t` if no live client remains.
void invocation_unwind(Thread* t, uint64_t r0, uint64_t r1);

/// Adds a notification to `ep`, waking its longest waiter (ready, not yet
/// running).
void rcv_notify(RcvEndpoint* ep);
/// Kernel tick: timeouts, periodic timers. Returns true when the quantum of
/// the current thread is over.
bool timer_tick();
/// The last capability to `ep` is gone: its periodic timer, IRQ line and
/// console-input binding are released (nobody could receive what they send).
void rcv_orphaned(RcvEndpoint* ep);
/// Binds (period_us > 0) or unbinds the periodic timer of `ep`.
void timer_set(RcvEndpoint* ep, uint64_t period_us);
/// True while some thread can still be woken by time or an interrupt.
bool wakeups_possible();

/// True when schedule() would give the CPU away from `t` now: a thread of
/// higher priority is ready, or t's quantum ended and a thread of its
/// priority is ready, or objects wait to be destroyed.
bool preemption_due(Thread* t);

/// Picks the thread to run and resumes it in user mode; idles (and powers off
/// when nothing can ever run again) if none is ready. `preempt` rotates the
/// current thread behind others of its priority.
[[noreturn]] void schedule(bool preempt);

/// Handles the system call whose arguments are in t->regs; stores the result,
/// or, when its work budget ran out, makes the thread execute it again
/// (kernel/syscall.cpp).
void syscall_handle(Thread* t);
/// Forgets a cut-short system call of `t` (it is being killed, or its
/// registers are rewritten): what it had left to destroy goes to the
/// background list.
void syscall_abandon(Thread* t);
/// Pages a large retype(frame) zeroes per kernel entry (sys_memory.cpp): 512
/// KiB, a bounded stretch with interrupts masked.
inline constexpr uint64_t kFramePagesPerEntry = 128;
/// Gives back a large retype(frame) the thread did not finish: the pages not
/// yet prepared return to their untyped at once, the prepared ones become a
/// frame nobody names, destroyed in bounded steps like any other object.
void pending_frame_abandon(Thread* t);
/// Destroys one budget's worth of the background list; true while more is
/// left (platform::idle() calls it between interrupt windows).
bool idle_work();

// --- virtualization (vm.cpp, vcpu.cpp, vcpu_run.cpp) ---------------------------
/// Runs the guest of t->guest on the current CPU until an exit goes to the
/// VMM, the run ends (notification, timeout) or the thread is preempted; for
/// platform::resume of a thread that is in a guest. Never returns.
[[noreturn]] void vcpu_guest_loop(Thread* t);
/// The thread is being killed while in a guest (t->guest set): releases the
/// vCPU it was running.
void vcpu_run_abandoned(Thread* t);
/// Builds a pending event from a vector and type, checked the same way for
/// vcpu_inject and the state page's Load::inject. Errors: bad_argument.
Error vcpu_make_event(uint64_t vector, vm::EventType type, uint32_t error_code, PendingEvent& ev);
/// Destroys a VM in steps (called by reap()): its guest-physical mappings
/// (one budget unit per table entry, progress in vm->reap_cursor), then the
/// backend's state. True when done.
bool vm_object_teardown(Vm* vm, WorkBudget& budget);
/// Destroys a vCPU (called by reap()); constant work.
void vcpu_object_destroy(Vcpu* v);

// --- console input (sys_console.cpp) -------------------------------------------
/// Takes what the console's UART has while the focused reader has room, and
/// notifies the readers that got bytes (the console IRQ, and after a read).
void console_input_poll();
/// Unbinds `ep` if it is a console-input reader.
void console_endpoint_orphaned(RcvEndpoint* ep);

// --- interrupts (irq.cpp) -----------------------------------------------------
/// Delivers ISA interrupt `line` to its bound endpoint (if any).
void irq_deliver(unsigned line);
/// Binds `line` to `ep` (nullptr unbinds). Errors: irq_bound.
Error irq_bind(unsigned line, RcvEndpoint* ep);

}  // namespace cos

#include <new>

#include "kernel/platform.hpp"

namespace cos {

template <typename T>
Error obj_create(Untyped* ut, ObjType type, uint32_t pages, T*& out) {
  uint64_t pa;
  Error e = untyped_alloc(ut, pages, 1, PageKind::kernel, pa);
  if (e != Error::ok) return e;
  T* o = new (platform::phys_to_kernel(pa)) T();
  o->type = type;
  o->pages = pages;
  o->pa = pa;
  o->origin = ut;
  out = o;
  return Error::ok;
}

}  // namespace cos
