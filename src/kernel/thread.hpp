// Thread: a user register context, its FPU/SSE state, and the stack of
// synchronous invocations it has made (Composite-style thread migration: the
// thread itself runs in the server, the frame records where to return).
#pragma once
#include <stdint.h>

#include <boost/intrusive/list.hpp>

#include "cos/abi.hpp"
#include "kernel/object.hpp"
#include "x86_64/regs.hpp"
#include "kernel/run_queue.hpp"

namespace cos {

struct Component;
struct RcvEndpoint;
struct Vcpu;

/// One entry of the invocation stack: the client context to resume on sret.
struct InvocationFrame {
  Component* client;
  Component* server;  ///< referenced until the invocation returns
  uint64_t rip, rsp, rflags;
};

/// `stopped`: an asynchronous vCPU's thread whose exit awaits the VMM's vcpu_resume.
/// `suspended`: would be ready, but thd_suspend holds it (Thread::suspended).
enum class ThreadState : uint8_t { created, ready, running, blocked, stopped, suspended, dead };

/// thd_suspend / thd_kill of a thread executing in another component: what
/// happens once its invocations have returned to its home component.
enum class SchedPending : uint8_t { none, suspend, kill };

/// A system call cut short by the work budget (kernel/syscall.cpp): the
/// thread executes the same call again when it next runs.
enum class SyscallRestart : uint8_t {
  none,
  redo,     ///< the operation itself stopped (cap_revoke): run it again, it continues
  reclaim,  ///< the operation is done (result in restart_result); only destroying what it released is left
};

struct Untyped;
/// A large frame retype in progress (sys_memory.cpp retype_large_frame):
/// pages [pa, pa + pages * 4 KiB) reserved from `ut` (referenced), the first
/// `done` of them zeroed and recorded as frame pages. ut == nullptr: none.
struct PendingFrame {
  Untyped* ut = nullptr;
  uint64_t pa = 0, pages = 0, done = 0;
};

/// Threads with a timeout pending are on a deadline-ordered kernel list.
struct TimeoutTag;
using TimeoutHook = boost::intrusive::list_base_hook<
    boost::intrusive::tag<TimeoutTag>, boost::intrusive::link_mode<boost::intrusive::safe_link>>;
/// Every thread is on its home component's list (Component::threads) from
/// creation to destruction, so comp_kill finds them.
struct HomeTag;
using HomeHook = boost::intrusive::list_base_hook<
    boost::intrusive::tag<HomeTag>, boost::intrusive::link_mode<boost::intrusive::safe_link>>;

struct Thread : KObject, SchedEntity, TimeoutHook, HomeHook {
  static constexpr abi::ObjType kType = abi::ObjType::thread;
  /// Entries from ring 3 push the interrupt frame at the end of `regs`; the
  /// CPU aligns that stack pointer to 16 bytes first (Intel SDM Vol. 3A,
  /// 6.14.2), so the frame's end must be 16-byte aligned.
  alignas(16) x86::Regs regs;
  alignas(16) uint8_t fpu[512];  ///< FXSAVE image (Intel SDM Vol. 1, 10.5.1)
  Component* home;               ///< component it was created in (referenced)
  Component* current;            ///< component it executes in now
  InvocationFrame inv[abi::kMaxInvocationDepth];
  uint32_t depth;                ///< number of valid entries in inv
  uint32_t id;
  ThreadState state;
  /// The CPU whose run queue it joins when ready (0 at creation; thd_cpu
  /// moves it). A running thread whose `cpu` changed moves at its CPU's
  /// next schedule.
  uint8_t cpu;
  /// thd_suspend holds the thread: it is parked (state suspended) instead of
  /// queued whenever it would become ready.
  bool suspended;
  SchedPending pending;          ///< set while it executes in another component
  RcvEndpoint* blocked_on;       ///< while blocked in rcv (referenced)
  uint64_t deadline;             ///< kernel time (us) at which a pending rcv times out
  /// While set, the thread runs this vCPU's guest instead of user code:
  /// between vcpu_run and its return, or for life (an asynchronous vCPU's
  /// own thread). Referenced while set by vcpu_run.
  Vcpu* guest;
  RcvEndpoint* wake;             ///< vcpu_run: a notification here ends the run (referenced), or nullptr
  uint64_t guest_deadline;       ///< vcpu_run: kernel time (us) at which the run ends with timeout (0: none)
  /// Objects the running system call released, destroyed before it returns.
  ReapList reap;
  SyscallRestart restart;
  int64_t restart_result;        ///< restart == reclaim: what the call returns once done
  uint64_t restart_rip;          ///< rip after the cut-short SYSCALL instruction
  uint64_t restart_op;           ///< its rax (abi::Op)
  PendingFrame pending_frame;    ///< a retype(frame) cut into steps, while it lasts
};
static_assert(sizeof(Thread) <= 4096);
static_assert(sizeof(x86::Regs) % 16 == 0);

}  // namespace cos

namespace cos {
/// The threads whose home is one component.
using HomeThreadList = boost::intrusive::list<Thread, boost::intrusive::base_hook<HomeHook>,
                                              boost::intrusive::constant_time_size<false>>;
}  // namespace cos
