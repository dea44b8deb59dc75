// The machine operations the portable kernel core uses: thread contexts,
// address spaces, user-memory access and returning to user mode.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "kernel/capability.hpp"
#include "x86_64/regs.hpp"

namespace cos {
struct Thread;
struct Component;
struct Untyped;
}  // namespace cos

namespace cos::machine {

/// Kernel address of physical address `pa` (direct map).
void* phys_to_kernel(uint64_t pa);
/// Physical address of a kernel object in the direct map.
uint64_t kernel_to_phys(const void* va);
/// Zeroes `pages` pages at physical address pa.
void zero_pages(uint64_t pa, uint64_t pages);

/// Sets up the register and FPU state of a new thread entering user mode at
/// `entry` with rdi = arg.
void thread_context_init(Thread* t, uint64_t entry, uint64_t arg);
/// Makes `regs` return from an invocation: resume at rip/rsp/rflags with
/// rax = r0, rdx = r1, and no other register content carried over.
void set_invocation_return(x86::Regs& regs, uint64_t rip, uint64_t rsp, uint64_t rflags,
                           uint64_t r0, uint64_t r1);
/// Makes `regs` enter a server's sinv entry: rip = entry, rdi = token; the
/// argument registers (rsi, rdx, r10, r8) are kept, everything else cleared.
void set_upcall(x86::Regs& regs, uint64_t entry, uint64_t token);

/// Initialises a zeroed PML4 page as a new address space sharing the kernel half.
void address_space_init(uint64_t pml4_pa);
/// Maps the 4 KiB frame `pa` at user address `va` in the address space
/// `root` with rights (abi::Rights). Intermediate tables are carved from
/// `ut` (may be nullptr: then only existing tables are used).
/// Errors: bad_address, already_mapped, out_of_memory.
abi::Error map_user_page(uint64_t root, uint64_t va, uint64_t pa, uint64_t rights, Untyped* ut);
/// Removes the mapping of `va`, flushing the TLB entry if `root` is loaded;
/// the unmapped frame's address is returned in `pa`.
/// Errors: bad_address, not_mapped.
abi::Error unmap_user_page(uint64_t root, uint64_t va, uint64_t& pa);
/// Tears down the user half of an address space: every mapped page is
/// reported with frame_page_unmapped(), every intermediate table with
/// pgtable_page_freed(). Switches away first if `root` is loaded.
void address_space_teardown(uint64_t root);
/// A thread object is about to be freed: forget any hardware state pointing
/// at it (the lazily saved FPU owner).
void thread_destroyed(Thread* t);

/// Guest-physical mappings in EPT/NPT format (virt::gpt_* encoding), same
/// contracts as map_user_page / unmap_user_page / address_space_teardown
/// (gpa < abi::kGuestPhysTop). Invalidation is the caller's business.
abi::Error map_guest_page(uint64_t root, uint64_t gpa, uint64_t pa, uint64_t rights, Untyped* ut);
abi::Error unmap_guest_page(uint64_t root, uint64_t gpa, uint64_t& pa);
void guest_space_teardown(uint64_t root);

/// Microseconds since boot (TSC calibrated against the PIT).
uint64_t time_us();
/// Port I/O on behalf of a component holding an I/O-port capability.
uint32_t port_in(uint16_t port, unsigned width);
void port_out(uint16_t port, unsigned width, uint32_t value);
/// Masks or unmasks an ISA IRQ line at the 8259 PIC pair.
void irq_mask(unsigned line, bool masked);
/// True while any IRQ line is unmasked (bound).
bool irqs_bound();
/// Copies `len` bytes from user address `uva` in address space `root`,
/// checking every page is mapped and user-accessible. False if not.
bool copy_from_user(uint64_t root, uint64_t uva, void* dst, size_t len);

/// Resumes `t` in user mode in its current component. Never returns.
[[noreturn]] void resume(Thread* t);
/// Waits for interrupts with nothing to run. Never returns: an interrupt
/// handler calls schedule().
[[noreturn]] void idle();

}  // namespace cos::machine
