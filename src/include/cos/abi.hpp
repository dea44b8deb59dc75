// cos system-call ABI: the one contract between the kernel and user-level
// components. Shared by the kernel, the component runtime and host tests, so
// it uses only fixed-width integers.
//
// Calling convention (x86-64 `syscall`):
//   rax = operation (cos::abi::Op), rdi, rsi, rdx, r10, r8, r9 = arguments.
//   On return rax = status (0 or a negative cos::abi::Error) or a result,
//   rdx = a second result where an operation documents one. rcx and r11 are
//   clobbered by the instruction; every other register is preserved except
//   across Op::sinv, where the client's callee-saved registers are preserved by
//   the user-level stub (the server cannot see the client's stack).
//
// Capability slots are indices into the calling component's capability table.
// Slot 0 is always empty.
#pragma once
#include <stdint.h>

namespace cos::abi {

/// System-call numbers. Each entry lists its arguments in register order.
enum class Op : uint64_t {
  /// print(user_ptr, len): write len bytes (<= 4096) to the kernel console.
  /// Errors: bad_address if the range is not mapped readable for the caller.
  print = 1,
  /// retype(ut_slot, dest_slot, type, npages): carve npages pages from the
  /// untyped memory in ut_slot into a new object of `type` (ObjType::captbl:
  /// npages 1..16 pages of 128 slots each; ObjType::pgtbl: npages must be 1;
  /// ObjType::frame: npages 1..2^20 contiguous frames). Memory is zeroed.
  /// Errors: bad_slot, wrong_type, slot_occupied, bad_argument, out_of_memory.
  retype = 2,
  /// comp_create(ut_slot, dest_slot, captbl_slot, pgtbl_slot, name_ptr, name_len):
  /// a component (capability table + page table) named for fault reports
  /// (name_len <= 31). Uses one page of the untyped memory.
  comp_create = 3,
  /// thd_create(ut_slot, dest_slot, comp_slot, entry, arg): a thread that will
  /// start in the component at `entry` with rdi = arg. Not runnable until
  /// thd_start. Uses one page of untyped memory (registers, FPU state and the
  /// invocation stack). Errors: bad_address if entry is not a user address.
  thd_create = 4,
  /// thd_start(thd_slot, user_stack_top, priority): make the thread runnable
  /// with rsp = user_stack_top (16-byte aligned, at most 0x0000800000000000)
  /// at priority 0 (highest)..255. Errors: already_started, bad_argument,
  /// bad_address.
  thd_start = 5,
  /// sinv_create(ut_slot, dest_slot, comp_slot, entry, token): a synchronous
  /// invocation gate into the component at `entry`; the server's entry sees
  /// rdi = token. Uses one page of untyped memory. Errors: bad_address if
  /// entry is not a user address.
  sinv_create = 6,
  /// cap_copy(dst_captbl_slot, dst_index, src_slot, rights_mask): copy the
  /// capability in src_slot to index dst_index of the capability table named by
  /// dst_captbl_slot, keeping only rights in rights_mask. Untyped capabilities
  /// cannot be copied (not_copyable).
  cap_copy = 7,
  /// cap_delete(slot): empty a slot of the caller's table.
  cap_delete = 8,
  /// pgtbl_map(pgtbl_slot, vaddr, frame_slot, page_index, rights, ut_slot):
  /// map page `page_index` of the frame capability at user address vaddr
  /// (page-aligned, below 0x0000800000000000) with rights (Rights::read|write|
  /// exec, a subset of the frame capability's). Intermediate page-table pages
  /// come from ut_slot. Errors: bad_address, already_mapped, no_rights, ...
  pgtbl_map = 9,
  /// pgtbl_unmap(pgtbl_slot, vaddr): remove a 4 KiB mapping (TLB invalidated).
  pgtbl_unmap = 10,
  /// sinv(gate_slot, op, a0, a1, a2): synchronous invocation. The calling
  /// thread migrates into the server; returns the server's (rax, rdx) from
  /// sret, or comp_dead if the server is dead or faults during the call.
  sinv = 11,
  /// sret(r0, r1): return from the innermost invocation to the client with
  /// rax = r0, rdx = r1. Errors: not_in_invocation.
  sret = 12,
  /// thd_yield(): let other threads of the same priority run.
  thd_yield = 13,
  /// thd_exit(): terminate the calling thread. Never returns.
  thd_exit = 14,
};

/// Object types for Op::retype and the type field of a capability.
enum class ObjType : uint64_t {
  none = 0, untyped = 1, captbl = 2, pgtbl = 3, frame = 4, comp = 5, thread = 6, sinv = 7,
};

/// Rights bits of a capability (frames: memory access rights).
namespace Rights {
inline constexpr uint64_t read = 1, write = 2, exec = 4, all = 0xff;
}

/// Error codes: every error path in the kernel returns a distinct one.
enum class Error : int64_t {
  ok = 0,
  bad_op = -1,            ///< unknown operation number
  bad_slot = -2,          ///< slot index outside the capability table
  empty_slot = -3,        ///< no capability in the slot
  wrong_type = -4,        ///< capability is of another type than required
  slot_occupied = -5,     ///< destination slot is not empty
  bad_argument = -6,      ///< an argument is out of its documented range
  out_of_memory = -7,     ///< the untyped capability has too little memory left
  bad_address = -8,       ///< user address not canonical, not page aligned, or unmapped
  already_mapped = -9,    ///< pgtbl_map target is mapped
  not_mapped = -10,       ///< pgtbl_unmap target is not mapped
  no_rights = -11,        ///< capability lacks a right the operation needs
  not_copyable = -12,     ///< the capability type cannot be copied
  comp_dead = -13,        ///< the invoked component is dead or faulted during the call
  not_in_invocation = -14,///< sret without an invocation to return from
  invocation_depth = -15, ///< too many nested invocations
  already_started = -16,  ///< thd_start on a started thread
};

/// Largest number of nested synchronous invocations per thread.
inline constexpr unsigned kMaxInvocationDepth = 16;
/// Capability slots per capability-table page.
inline constexpr unsigned kSlotsPerCaptblPage = 128;

}  // namespace cos::abi
