// cos system-call ABI: the one contract between the kernel and user-level
// components. Shared by the kernel, the component runtime and host tests, so
// it uses only fixed-width integers. docs/capabilities.md explains the model.
//
// Calling convention (x86-64 `syscall`):
//   rax = operation (cos::abi::Op), rdi, rsi, rdx, r10, r8, r9 = arguments.
//   On return rax = status (0 or a negative cos::abi::Error) or a
//   non-negative result, rdx = a second result where an operation documents
//   one. rcx and r11 are clobbered by the instruction; every other register is
//   preserved, except across Op::sinv, where the client's callee-saved
//   registers are preserved by the user-level stub (the server cannot see the
//   client's stack).
//
// Capability slots are indices into the calling component's capability table
// (the table of the component the thread executes in). Slot 0 is never valid.
// "Needs R" means the capability must carry right R (see Rights), else the
// call fails with Error::no_rights.
#pragma once
#include <stdint.h>

#include "cos/abi_asm.h"

namespace cos::abi {

/// System-call numbers. Each entry lists its arguments in register order.
enum class Op : uint64_t {
  /// nop(): does nothing, returns 0. The null system call for benchmarks.
  nop = 0,
  /// print(user_ptr, len): write len bytes (<= 4096) to the kernel console.
  /// Errors: bad_argument (len), bad_address (range not mapped readable).
  print = 1,
  /// retype(ut_slot, dest_slot, type, npages): carve a new object from the
  /// untyped memory in ut_slot (needs write) and put its capability, with all
  /// rights, in dest_slot; the new capability is derived from ut_slot, so
  /// revoking ut_slot deletes it. Memory is zeroed. Per type:
  ///   ObjType::untyped: npages (>= 1) pages of memory plus one header page;
  ///   ObjType::captbl:  npages 1..16 pages of 64 slots each;
  ///   ObjType::pgtbl:   npages must be 1 (uses 2 pages: object + PML4);
  ///   ObjType::frame:   npages 1..2^20 contiguous pages of user memory;
  ///   ObjType::rcv:     npages must be 1;
  /// other types are created by their own calls (wrong_type here).
  /// Errors: bad_slot, empty_slot, wrong_type, no_rights, slot_occupied,
  /// bad_argument (npages), out_of_memory.
  retype = 2,
  /// comp_create(ut_slot, dest_slot, captbl_slot, pgtbl_slot, name_ptr, name_len):
  /// a component over the capability table and page table (both need write),
  /// named for fault reports (name_len <= 31). Uses one page of untyped memory.
  comp_create = 3,
  /// thd_create(ut_slot, dest_slot, comp_slot, entry, arg): a thread that will
  /// start in the component (needs exec) at `entry` with rdi = arg. Not
  /// runnable until thd_start. Uses one page of untyped memory.
  /// Errors: ..., bad_address if entry is not a user address.
  thd_create = 4,
  /// thd_start(thd_slot, user_stack_top, priority): make the thread (needs
  /// exec) runnable with rsp = user_stack_top (16-byte aligned, <= kUserTop)
  /// at priority 0 (highest)..255, no higher than the calling component's
  /// ceiling (comp_ceiling). Errors: already_started, bad_argument,
  /// bad_address, above_ceiling.
  thd_start = 5,
  /// sinv_create(ut_slot, dest_slot, comp_slot, entry, token): a synchronous
  /// invocation gate into the component (needs exec) at `entry`; the server's
  /// entry sees rdi = token. Uses one page of untyped memory.
  sinv_create = 6,
  /// cap_copy(dst_captbl_slot, dst_index, src_slot, rights_mask): copy the
  /// capability in src_slot (needs grant) to index dst_index of the capability
  /// table in dst_captbl_slot (needs write), keeping only the rights in
  /// rights_mask. The copy is derived from the source (revoke removes it).
  cap_copy = 7,
  /// cap_delete(slot): empty a slot. Capabilities derived from it stay and
  /// are re-attached to its parent. An object is destroyed, and its memory
  /// returned to its untyped, when its last capability is gone and nothing
  /// references it (a mapped frame, a running thread, a component in use);
  /// what the call releases is destroyed before it returns. Emptying the
  /// slot takes constant time; the destruction is done in bounded steps
  /// between which the kernel takes interrupts and lets higher-priority
  /// threads run (docs/kernel.md, "Bounded kernel work"): one call, one result.
  cap_delete = 8,
  /// pgtbl_map(pgtbl_slot, vaddr, frame_slot, page_index, rights, ut_slot):
  /// map page `page_index` of the frame (page table needs write) at user
  /// address vaddr (page-aligned, < kUserTop) with rights (Rights::read plus
  /// optionally write/exec, each also held by the frame capability).
  /// Intermediate page-table pages come from ut_slot (0: none may be needed).
  /// Errors: bad_address, already_mapped, no_rights, bad_argument, out_of_memory.
  pgtbl_map = 9,
  /// pgtbl_unmap(pgtbl_slot, vaddr): remove a 4 KiB mapping (TLB flushed).
  /// Errors: bad_address, not_mapped.
  pgtbl_unmap = 10,
  /// sinv(gate_slot, op, a0, a1, a2): synchronous invocation (needs exec). The
  /// calling thread migrates into the server; returns the server's (rax, rdx)
  /// from sret, or comp_dead if the server is dead or faults during the call.
  /// The server starts with rdi = the gate's token, rsi/rdx/r10/r8 = op and
  /// the arguments, every other register zero and the FPU/SSE state reset to
  /// the power-on state; the client gets back rax, rdx and, again, a reset
  /// FPU/SSE state (nothing crosses in either direction; the runtime's stub
  /// keeps the client's callee-saved registers, MXCSR and FCW).
  sinv = 11,
  /// sret(r0, r1): return from the innermost invocation to the client with
  /// rax = r0, rdx = r1. Errors: not_in_invocation.
  sret = 12,
  /// thd_yield(): let other ready threads of the same or higher priority run.
  thd_yield = 13,
  /// thd_exit(): terminate the calling thread. Never returns.
  thd_exit = 14,
  /// cap_revoke(slot): delete every capability derived from the one in slot
  /// (recursively, in any table), keeping slot itself, and destroy the
  /// objects left without capabilities, before returning. Time linear in the
  /// capabilities removed and the objects destroyed, in bounded steps like
  /// cap_delete; the steps after the first act on what `slot` holds then
  /// (another thread that empties it in between makes the call end with
  /// empty_slot; what was removed so far stays removed).
  /// Errors: bad_slot, empty_slot.
  cap_revoke = 15,
  /// cap_info(slot): rax = type | rights << 8 of the capability in slot.
  /// Errors: bad_slot, empty_slot.
  cap_info = 16,
  /// rcv_create is retype(ut, dest, ObjType::rcv, 1); this number is reserved.
  reserved_17 = 17,
  /// asnd_create(ut_slot, dest_slot, rcv_slot): an asynchronous send endpoint
  /// that notifies the receive endpoint (needs grant). One untyped page.
  asnd_create = 18,
  /// asnd(asnd_slot): notify (needs write). Wakes the longest-waiting thread
  /// blocked in rcv on the endpoint, which preempts the caller if it has a
  /// higher priority; otherwise the notification stays pending.
  asnd = 19,
  /// rcv(rcv_slot, timeout_us, flags): wait for notifications (needs read).
  /// Returns the number of notifications consumed (>= 1). Blocks while none
  /// is pending unless flags has kRcvNonBlocking (then would_block); with
  /// timeout_us > 0, gives up after about that many microseconds (timeout).
  /// Resolution: the kernel tick (kTickUs).
  rcv = 20,
  /// hw_derive(hw_slot, dest_slot, first, count): a capability for the
  /// sub-range [first, first + count) of an I/O-port or IRQ capability
  /// (needs grant), derived from it. Errors: wrong_type, bad_argument,
  /// kernel_owned (the range overlaps ports or lines the kernel drives,
  /// cos/kernel_hardware.h).
  hw_derive = 21,
  /// ioport_in(ioport_slot, port, width): read an I/O port (needs read);
  /// width 1, 2 or 4 bytes. Errors: bad_argument, out_of_range,
  /// kernel_owned (whatever the capability says).
  ioport_in = 22,
  /// ioport_out(ioport_slot, port, width, value): write an I/O port (needs
  /// write). Errors: bad_argument, out_of_range, kernel_owned.
  ioport_out = 23,
  /// irq_bind(irq_slot, line, rcv_slot): deliver interrupts of ISA line
  /// `line` (in the capability's range, needs write) as notifications to the
  /// receive endpoint; rcv_slot 0 unbinds. Errors: out_of_range, irq_bound,
  /// kernel_owned.
  irq_bind = 24,
  /// timer_bind(timer_slot, rcv_slot, period_us): notify the receive endpoint
  /// every period_us microseconds (>= kTickUs; 0 stops it) (needs write).
  timer_bind = 25,
  /// time_now(): microseconds since boot (kernel time base).
  time_now = 26,

  // --- hardware virtualization (cos/vm.hpp has the vCPU state page) --------
  /// vm_create is retype(ut, dest, ObjType::vm, 1): a guest-physical address
  /// space (EPT or NPT root); uses 2 pages. Errors: no_virtualization.
  reserved_27 = 27,
  /// vm_map(vm_slot, gpa, frame_slot, page_index, rights, ut_slot): map page
  /// `page_index` of the frame at guest-physical address gpa (page-aligned,
  /// < kGuestPhysTop) with rights (read plus optionally write/exec, each held
  /// by the frame capability). The VM needs write. Table pages come from
  /// ut_slot. Errors as pgtbl_map.
  /// With kVmMapLarge in rights: one 2 MiB EPT/NPT leaf maps the 512 pages
  /// page_index .. page_index + 511 of the frame at gpa .. gpa + 2 MiB
  /// (docs/virtualization.md, "2 MiB guest pages"). Extra errors:
  /// bad_address (gpa not 2 MiB aligned), bad_argument (the frame has fewer
  /// than page_index + 512 pages), unaligned (those pages are not 2 MiB
  /// aligned in host memory, or the CPU has no 2 MiB guest pages: map 4 KiB
  /// pages instead), already_mapped (a mapping, or a table of 4 KiB mappings
  /// even if they were all removed, is in the 2 MiB range).
  vm_map = 28,
  /// vm_unmap(vm_slot, gpa): remove the guest mapping that covers gpa and
  /// return how many 4 KiB pages it mapped: 1, or 512 for a 2 MiB mapping
  /// (any gpa inside it removes all of it). The guest TLB is invalidated
  /// (INVEPT / ASID flush) before any vCPU of the VM runs again.
  /// Errors: bad_address, not_mapped.
  vm_unmap = 29,
  /// vcpu_create(ut_slot, dest_slot, vm_slot, state_frame_slot, exit_rcv_slot, priority):
  /// a vCPU of the VM (needs write) whose state page is page 0 of the frame
  /// (needs read|write; the VMM maps the same frame to read and write
  /// vm::StatePage). It starts stopped: set its state in the state page, then
  /// run it. Two kinds:
  ///   exit_rcv_slot == 0: synchronous. A VMM thread runs the guest by calling
  ///     vcpu_run, which returns at the next exit; priority must be 0 (the
  ///     running thread's priority applies). Uses 2 pages of untyped memory.
  ///   exit_rcv_slot != 0: asynchronous. The vCPU has its own thread at
  ///     `priority` (0 highest .. 255) that runs the guest after vcpu_resume;
  ///     every exit stops it and notifies the receive endpoint (needs write),
  ///     which the VMM may share with IRQs and timers. Uses 3 pages.
  ///     `priority` must be at or below the calling component's ceiling.
  /// Errors: no_virtualization, wrong_type, no_rights, bad_argument,
  /// above_ceiling.
  vcpu_create = 30,
  /// vcpu_run(vcpu_slot, load_mask, wake_rcv_slot, timeout_us): synchronous
  /// vCPUs (needs write). Loads the state groups in load_mask (vm::Load bits)
  /// from the state page, validated (bad_guest_state: nothing is loaded),
  /// then the calling thread enters the guest and runs it until
  ///   - an exit for the VMM: returns its vm::ExitReason (> 0); the state
  ///     page holds the exit, the registers and the save_mask groups;
  ///   - wake_rcv_slot != 0 (needs read) and that endpoint has notifications
  ///     (an IRQ, a timer, an asnd the VMM bound to it): they are consumed and
  ///     vcpu_run returns 0 (vm::ExitReason::none) with their count in rdx;
  ///   - timeout_us > 0 and that many microseconds passed: returns timeout.
  /// In the last two cases the state page is brought up to date as for an
  /// exit (exit.reason = none), so the VMM may edit and load it. Host
  /// interrupts and higher-priority threads preempt the guest as they would
  /// preempt the thread in user mode. Errors: bad_guest_state, vcpu_running
  /// (another thread is running the vCPU), vcpu_mode (an asynchronous vCPU).
  vcpu_run = 31,
  /// vcpu_inject(vcpu_slot, vector, type, error_code): queue an event for the
  /// guest (vm::EventType), injected at the next point it can be taken
  /// (interrupt-window exits are requested as needed). One event of each
  /// kind may be pending: a second external interrupt replaces nothing and
  /// returns event_pending. The vCPU needs write. Errors: bad_argument (a
  /// vector the type does not allow: external interrupts 16..255,
  /// exceptions 0..31 except 2, NMI, software interrupts any), event_pending.
  vcpu_inject = 32,
  /// vcpu_resume(vcpu_slot, load_mask): asynchronous vCPUs (needs write).
  /// Loads the groups in load_mask like vcpu_run and lets the vCPU's thread
  /// run the guest; its next exit notifies the vCPU's exit endpoint (wait
  /// with rcv; StatePage::exit_pending tells an exit from other
  /// notifications on a shared endpoint). Errors: bad_guest_state,
  /// comp_dead (the vCPU's thread ended), vcpu_running (not stopped),
  /// vcpu_mode (a synchronous vCPU).
  vcpu_resume = 33,

  // --- console input (kernel/console_input.hpp) ----------------------------
  /// console_bind(console_slot, rcv_slot, on): on = 1 makes the receive
  /// endpoint (needs write) a console-input reader: bytes typed on the
  /// kernel console while it has the input focus are queued for it and
  /// notify it. The first reader has the focus; Ctrl-A 1..8 in the input
  /// moves it to reader 1..8 (in bind order), Ctrl-A Ctrl-A is a literal
  /// Ctrl-A. on = 0 unbinds. A reader whose endpoint loses its last
  /// capability is unbound. The console capability needs read.
  /// Errors: already_bound, not_bound (on = 0), out_of_memory (8 readers
  /// bound), bad_argument (on > 1).
  console_bind = 34,
  /// console_read(console_slot, rcv_slot, buf, len): copies up to len
  /// (<= 4096) bytes queued for the reader bound to the receive endpoint
  /// (needs read) to buf; returns how many (0: none queued). Errors:
  /// not_bound, bad_argument (len), bad_address (buf not writable: nothing
  /// is taken from the queue).
  console_read = 35,

  // --- scheduling authority (kernel/sys_sched.cpp, docs/capabilities.md) ---
  /// comp_ceiling(comp_slot, ceiling): sets the component's priority
  /// ceiling (needs write): the highest priority (lowest number) threads
  /// and asynchronous vCPUs created by code running in it may get. A new
  /// component inherits its creator's ceiling. Errors: bad_argument
  /// (ceiling > 255), above_ceiling (ceiling < the caller's own ceiling:
  /// nobody grants more than it has).
  comp_ceiling = 36,
  /// thd_suspend(slot): the thread, or an asynchronous vCPU's thread (a
  /// thread or vCPU capability, needs write), is not scheduled until
  /// thd_resume. A thread executing in another component (inside a sinv)
  /// is suspended when its invocations have returned to its home
  /// component, so no server is left holding a suspended thread. Suspending
  /// the calling thread takes effect at once. Errors: vcpu_mode (a
  /// synchronous vCPU: it runs only when its VMM calls vcpu_run),
  /// comp_dead (the thread has ended).
  thd_suspend = 37,
  /// thd_resume(slot): undoes thd_suspend (also a pending one); a thread
  /// that is not suspended is left as it is. Errors as thd_suspend.
  thd_resume = 38,
  /// thd_kill(slot): ends the thread (a thread or vCPU capability, needs
  /// write) for good; like thd_suspend, a thread inside a sinv ends when its
  /// invocations have returned to its home component. For a synchronous
  /// vCPU: the vCPU never runs again (vcpu_run returns comp_dead, also to a
  /// thread running it now). The objects stay until their capabilities go.
  /// Killing the calling thread does not return. Errors: comp_dead (already
  /// ended).
  thd_kill = 39,
  /// comp_kill(comp_slot): stops the component (needs write) for good: its
  /// threads that are at home end, its threads inside other components end
  /// when they return, other components' threads inside it return to their
  /// callers with comp_dead, sinv into it fails with comp_dead. What it
  /// holds returns when its capabilities are deleted or revoked (e.g. the
  /// parent revokes the untyped memory it gave). Errors: comp_dead
  /// (already stopped).
  comp_kill = 40,

  // --- ending components (kernel/comp_exit.cpp, docs/running.md) ------------
  /// comp_exit(status, reason_ptr, reason_len): ends the component the
  /// calling thread executes in, with an exit status (0 = success, 1..255)
  /// and a one-line reason (<= kExitReasonMax bytes; anything from a control
  /// character on is dropped; an empty one reads "no reason given"). Every
  /// thread stops executing in it, as after a fault (their invocations into
  /// it return comp_dead). The kernel prints
  /// `cos: component '<name>' exited with status <s>: <reason>`; if the
  /// component is essential and status != 0 it then stops the machine like a
  /// fault of an essential component does. Does not return, except with
  /// bad_argument (status > 255, reason_len > kExitReasonMax) or bad_address
  /// (reason not readable).
  comp_exit = 41,
  /// comp_essential(comp_slot): marks the component (needs write) essential:
  /// from then on its fault, or its comp_exit with a non-zero status, stops
  /// the machine with `cos: shutdown: essential component '<name>' stopped
  /// (status <s>): <reason>` (a fault: status cos::exit_status::kFailed).
  /// Only an essential component may confer this (the kernel-constructed
  /// booter is essential); it cannot be undone. Errors: no_rights (the
  /// caller's component is not essential), and those of the slot.
  comp_essential = 42,

  // --- processors (kernel/sys_sched.cpp, docs/kernel.md "Processors") --------
  /// thd_cpu(slot, cpu): places the thread (a thread capability, or an
  /// own-thread vCPU capability for the vCPU's thread; needs write) on CPU
  /// `cpu` (0 = the boot processor .. the number online - 1, see
  /// cpu_count): from then on it runs there, whatever its state. The
  /// calling thread moves before the call returns; a thread running on
  /// another CPU moves when that CPU next enters the kernel (an IPI makes it
  /// do so at once). Returns 0. Errors: wrong_type (a synchronous vCPU: it
  /// runs where its caller runs), bad_argument (no such CPU online),
  /// comp_dead (the thread has ended), and those of the slot.
  thd_cpu = 43,
  /// cpu_count(): the number of CPUs running the kernel (>= 1). Needs no
  /// capability: it is the machine's, not a secret.
  cpu_count = 44,
};

/// Longest reason comp_exit takes, in bytes.
inline constexpr uint64_t kExitReasonMax = 200;

static_assert(COS_OP_SINV == static_cast<uint64_t>(Op::sinv) && COS_OP_SRET == static_cast<uint64_t>(Op::sret) &&
                  COS_OP_THD_EXIT == static_cast<uint64_t>(Op::thd_exit) &&
                  COS_OP_ASND == static_cast<uint64_t>(Op::asnd) &&
                  COS_OP_COMP_EXIT == static_cast<uint64_t>(Op::comp_exit),
              "cos/abi_asm.h must match Op");

/// Object types for Op::retype and the type field of a capability.
enum class ObjType : uint64_t {
  none = 0, untyped = 1, captbl = 2, pgtbl = 3, frame = 4, comp = 5, thread = 6, sinv = 7,
  rcv = 8, asnd = 9, ioport = 10, irq = 11, timer = 12, vm = 13, vcpu = 14, console = 15,
};

/// Rights bits of a capability. Frames: read/write/exec bound the mapping
/// rights. Other objects: read = observe/receive, write = modify/send/map
/// into, exec = run/invoke/create threads in, grant = may be copied or derived.
namespace Rights {
inline constexpr uint64_t read = 1, write = 2, exec = 4, grant = 8, all = 0xf;
}

/// Error codes: every error path in the kernel returns a distinct one.
enum class Error : int64_t {
  ok = 0,
  bad_op = -1,            ///< unknown operation number
  bad_slot = -2,          ///< slot index outside the capability table (or 0)
  empty_slot = -3,        ///< no capability in the slot
  wrong_type = -4,        ///< capability is of another type than required
  slot_occupied = -5,     ///< destination slot is not empty
  bad_argument = -6,      ///< an argument is out of its documented range
  out_of_memory = -7,     ///< the untyped capability has too little memory left
  bad_address = -8,       ///< user address not canonical, not page aligned, or unmapped
  already_mapped = -9,    ///< pgtbl_map target is mapped
  not_mapped = -10,       ///< pgtbl_unmap target is not mapped
  no_rights = -11,        ///< capability lacks a right the operation needs
  not_copyable = -12,     ///< reserved (no capability type is uncopyable any more)
  comp_dead = -13,        ///< the invoked component is dead or faulted during the call
  not_in_invocation = -14,///< sret without an invocation to return from
  invocation_depth = -15, ///< too many nested invocations
  already_started = -16,  ///< thd_start on a started thread
  would_block = -17,      ///< rcv with kRcvNonBlocking and nothing pending
  timeout = -18,          ///< rcv timed out
  out_of_range = -19,     ///< I/O port or IRQ line outside the capability's range
  irq_bound = -20,        ///< the IRQ line is already bound to an endpoint
  waiter_busy = -21,      ///< reserved
  no_virtualization = -22,///< the CPU offers no usable VMX/SVM (see the boot message)
  bad_guest_state = -23,  ///< vcpu_run: a loaded field fails the entry checks
  vcpu_running = -24,     ///< vcpu_run on a vCPU that is not stopped
  event_pending = -25,    ///< vcpu_inject: an event of that kind is already queued
  vcpu_mode = -26,        ///< vcpu_run on an asynchronous vCPU, or vcpu_resume on a synchronous one
  kernel_owned = -27,     ///< the I/O port or IRQ line is driven by the kernel (cos/kernel_hardware.h)
  already_bound = -28,    ///< console_bind: the endpoint is a reader already
  not_bound = -29,        ///< console_bind(on = 0) / console_read: the endpoint is not a reader
  above_ceiling = -30,    ///< a priority above the calling component's ceiling (comp_ceiling)
  unaligned = -31,        ///< vm_map(kVmMapLarge): the frame's pages are not 2 MiB aligned in host memory (or no 2 MiB guest pages)
  wrong_cpu = -32,        ///< reserved: returned by no operation since guests run on every CPU
};

/// The name of an error code ("bad_slot"), or "" for a value that is not one
/// (0 and results >= 0 included). For messages and test reports.
constexpr const char* error_name(int64_t v) {
  constexpr const char* names[] = {
      "",              "bad_op",          "bad_slot",          "empty_slot",       "wrong_type",
      "slot_occupied", "bad_argument",    "out_of_memory",     "bad_address",      "already_mapped",
      "not_mapped",    "no_rights",       "not_copyable",      "comp_dead",        "not_in_invocation",
      "invocation_depth", "already_started", "would_block",    "timeout",          "out_of_range",
      "irq_bound",     "waiter_busy",     "no_virtualization", "bad_guest_state",  "vcpu_running",
      "event_pending",   "vcpu_mode",      "kernel_owned",      "already_bound",    "not_bound",
      "above_ceiling", "unaligned",       "wrong_cpu"};
  return v < 0 && -v < static_cast<int64_t>(sizeof(names) / sizeof(names[0])) ? names[-v] : "";
}

/// vm_map: a flag in the rights argument asking for one 2 MiB mapping.
inline constexpr uint64_t kVmMapLarge = 1ull << 8;
/// Bytes and 4 KiB pages a 2 MiB guest mapping (kVmMapLarge) covers.
inline constexpr uint64_t kLargePageBytes = 2ull << 20, kLargePagePages = 512;

/// rcv flags.
inline constexpr uint64_t kRcvNonBlocking = 1;
/// Largest number of nested synchronous invocations per thread.
inline constexpr unsigned kMaxInvocationDepth = 16;
/// Capability slots per capability-table page (slot 0 of a table is reserved).
inline constexpr unsigned kSlotsPerCaptblPage = 64;
/// The kernel tick: timer and timeout resolution, in microseconds.
inline constexpr uint64_t kTickUs = 1000;
/// The round-robin quantum, in ticks.
inline constexpr unsigned kQuantumTicks = 10;
/// User addresses are below this (48-bit canonical lower half).
inline constexpr uint64_t kUserTop = 0x0000800000000000ull;
/// ISA IRQ lines the kernel can route (8259 PIC pair); line 2 is the cascade.
inline constexpr unsigned kIrqLines = 16;
/// Guest-physical addresses are below this (4-level EPT/NPT, 48 bits).
inline constexpr uint64_t kGuestPhysTop = 1ull << 48;

}  // namespace cos::abi
