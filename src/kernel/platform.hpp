// The contract between the portable kernel core (src/kernel) and the machine
// layer (src/platform/<arch>): everything the core needs from the hardware,
// declared once. The x86-64 implementation lives in src/platform/x86_64
// (one file per job: address_space.cpp, guest_space.cpp, context.cpp,
// fpu.cpp, io.cpp, power.cpp, virt.cpp) and its vendor backends in vmx/ and
// svm/.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/abi.hpp"
#include "cos/vm.hpp"
#include "kernel/work_budget.hpp"

namespace cos {
struct Thread;
struct Untyped;
struct Vm;
struct Vcpu;
}  // namespace cos

namespace cos::platform {

// --- processors (x86-64: smp.cpp, cross_cpu.cpp) --------------------------------
/// CPUs running the kernel (1..cos_limits::kMaxCpus); indices 0..n-1.
unsigned cpus_online();
/// Interrupts CPU `cpu` (an IPI), so that it enters the kernel and
/// reschedules: a thread became ready there, or its running thread must
/// stop (kill, suspend, migration). Nothing for this CPU itself.
void cpu_kick(unsigned cpu);
/// Makes every other online CPU leave user and guest mode, drop its TLB
/// entries for user address spaces, write back its live FPU state, and,
/// if it has page-table root `dying_root` (non-zero) loaded, switch to the
/// kernel's tables; returns when all of them have done so. Called with
/// the kernel lock held, after page-table entries were removed and before
/// the pages they mapped can be reused (a TLB shootdown; the other CPUs
/// do it while waiting for the lock, kernel/kernel_lock.hpp).
void cpus_sync(uint64_t dying_root);
/// Runs fn(arg) on CPU `cpu` (online, not this one) and returns when it has
/// run there: for per-CPU hardware state only that CPU can change (VMX:
/// VMCLEAR of a VMCS active there). Called with the kernel lock held; the
/// other CPU runs fn while it waits for the lock, with interrupts off.
void cpu_call(unsigned cpu, void (*fn)(uint64_t), uint64_t arg);
/// Does what cpus_sync or cpu_call asked of this CPU, if anything
/// (kernel_lock_enter's spin loop).
void cpu_sync_poll();

// --- console and power ------------------------------------------------------------
/// Writes bytes to the kernel console (COM1 on x86-64).
void console_write(const char* s, size_t len);
/// True when console_write of one byte would not wait for the UART.
bool console_ready();
/// Takes one byte typed on the kernel console, if one is waiting.
bool console_poll(uint8_t& byte);
/// Turns the console's receive interrupt on or off (on: console_irq()
/// arrives as an interrupt, and irq_deliver() hands it to the kernel's
/// console input).
void console_input_enable(bool on);
/// The ISA line of the console's receive interrupt.
unsigned console_irq();

/// How the system stops: a clean power-off, after a kernel panic, or after
/// an essential component stopped (essential_component_stopped).
enum class StopReason { clean, panic, component };
/// Stops the machine. On QEMU it exits through isa-debug-exit (status 33 for
/// clean, 35 for panic, 37 for an essential component); on Bochs through
/// port 0x8900. Never returns.
[[noreturn]] void stop(StopReason why);

// --- physical memory ----------------------------------------------------------------
/// Kernel address of physical address `pa` (direct map).
void* phys_to_kernel(uint64_t pa);
/// Physical address of a kernel object in the direct map or the kernel image.
uint64_t kernel_to_phys(const void* va);
/// Zeroes `pages` 4 KiB pages at physical address `pa`.
void zero_pages(uint64_t pa, uint64_t pages);

// --- thread contexts (context.cpp) --------------------------------------------------
/// Sets up the register and FPU state of a new thread entering user mode at
/// `entry` with rdi = arg.
void thread_context_init(Thread* t, uint64_t entry, uint64_t arg);
/// Makes t's registers return from an invocation: resume at rip/rsp/rflags
/// with rax = r0, rdx = r1, and no other register content carried over (the
/// FPU/SSE state reset too).
void set_invocation_return(Thread* t, uint64_t rip, uint64_t rsp, uint64_t rflags, uint64_t r0, uint64_t r1);
/// Makes t's registers enter a server's sinv entry: rip = entry, rdi = token;
/// the argument registers (rsi, rdx, r10, r8) are kept, everything else
/// cleared, the FPU/SSE state included.
void set_upcall(Thread* t, uint64_t entry, uint64_t token);
/// A thread object is about to be freed: forget any hardware state pointing
/// at it (the lazily saved FPU owner).
void thread_destroyed(Thread* t);
/// The RFLAGS a thread may return to user mode with: the status flags and DF
/// of `rflags`, IF set, every other bit clear.
uint64_t user_rflags(uint64_t rflags);
/// Sets the value a thread that entered through a system call sees in rax
/// (and rdx) when it returns to user mode.
void set_syscall_result(Thread* t, int64_t rax);
void set_syscall_result(Thread* t, int64_t rax, uint64_t rdx);
/// Makes a thread that entered through a system call execute that system
/// call instruction again when it resumes, with the registers it had at
/// entry (the kernel must not have changed them). On x86-64 rip goes back
/// over the 2-byte SYSCALL (0F 05; prefixes in front of it are not
/// re-executed and mean nothing to it; Intel SDM Vol. 2B, SYSCALL).
void restart_syscall(Thread* t);

/// Resumes `t` in user mode in its current component, or, while it runs a
/// guest (t->guest set), re-enters the guest through vcpu_guest_loop() on a
/// fresh kernel stack. Never returns.
[[noreturn]] void resume(Thread* t);
/// Lets pending host interrupts in: they are taken (through the IDT) before
/// this returns. For kernel loops that run with interrupts disabled.
void interrupts_poll();
/// Waits for interrupts with nothing to run. While idle_work() reports more
/// background work it does that between one-instruction interrupt windows
/// instead of halting. Never returns: an interrupt handler calls schedule().
[[noreturn]] void idle();

// --- FPU / SSE state (fpu.cpp) -------------------------------------------------------
/// Makes `area` (a 512-byte FXSAVE image, 16-byte aligned; Intel SDM Vol. 1,
/// 10.5.1) the live FPU/SSE state: the state of the previous owner is saved
/// to its area first. Cheap when `area` is already live.
void fpu_activate(uint8_t* area);
/// Resets the state of `area` to the power-on one (every register zero,
/// exceptions masked): in the registers if it is live, else in memory.
void fpu_reset(uint8_t* area);
/// Forgets `area` as the live state's home (its memory is being freed).
void fpu_forget(uint8_t* area);
/// Writes the state of `area` back to memory wherever it is live, so that
/// another CPU can load it (a thread moving between CPUs); may synchronise
/// with the other CPUs (cpus_sync). With the kernel lock held.
void fpu_release(uint8_t* area);
/// Writes the power-on FXSAVE image (FCW 0x37f, MXCSR 0x1f80) into `area`.
void fpu_init_area(uint8_t* area);

// --- user address spaces (address_space.cpp) ----------------------------------------
/// Initialises a zeroed root page-table page as a new address space sharing
/// the kernel half.
void address_space_init(uint64_t root_pa);
/// Maps the 4 KiB frame `pa` at user address `va` in the address space
/// `root` with rights (abi::Rights). Intermediate tables are carved from
/// `ut` (may be nullptr: then only existing tables are used).
/// Errors: bad_address, already_mapped, out_of_memory.
abi::Error map_user_page(uint64_t root, uint64_t va, uint64_t pa, uint64_t rights, Untyped* ut);
/// Removes the mapping of `va`, flushing the TLB entry if `root` is loaded;
/// the unmapped frame's address is returned in `pa`. Errors: bad_address, not_mapped.
abi::Error unmap_user_page(uint64_t root, uint64_t va, uint64_t& pa);
/// Makes `root` the active address space (nothing to do when it is).
void address_space_switch(uint64_t root);
/// Tears down the user half of an address space in bounded steps: every
/// mapped page is reported with frame_page_unmapped(), every intermediate
/// table with pgtable_page_freed(); one unit of `budget` per page-table entry
/// looked at. `cursor` (0 on the first call) is the user address to continue
/// from. True when done; false when the budget ran out (call again with the
/// same cursor). Switches away first if `root` is loaded.
bool address_space_teardown(uint64_t root, uint64_t& cursor, WorkBudget& budget);
/// Copies `len` bytes from user address `uva` in address space `root`,
/// checking every page is mapped and user-accessible. False if not.
bool copy_from_user(uint64_t root, uint64_t uva, void* dst, size_t len);
/// True if [uva, uva + len) is mapped user-writable in `root`.
bool user_writable(uint64_t root, uint64_t uva, size_t len);
/// Copies `len` bytes to user address `uva`; writes nothing and returns
/// false unless the whole range is mapped user-writable.
bool copy_to_user(uint64_t root, uint64_t uva, const void* src, size_t len);

// --- guest-physical address spaces (guest_space.cpp) --------------------------------
/// Guest-physical mappings in the active backend's EPT/NPT format, same
/// contracts as map_user_page / unmap_user_page / address_space_teardown
/// (gpa < abi::kGuestPhysTop); a 4 KiB map inside a 2 MiB mapping is
/// already_mapped. Invalidation is the caller's business.
abi::Error map_guest_page(uint64_t root, uint64_t gpa, uint64_t pa, uint64_t rights, Untyped* ut);
/// A 2 MiB leaf (EPT/NPT PDE) mapping [pa, pa + 2 MiB) at gpa, both 2 MiB
/// aligned. Errors: already_mapped (a leaf or a table of 4 KiB mappings is
/// there), out_of_memory (table pages), unaligned (the CPU has no 2 MiB
/// guest pages).
abi::Error map_guest_large(uint64_t root, uint64_t gpa, uint64_t pa, uint64_t rights, Untyped* ut);
/// Removes the mapping that covers gpa, whatever its size: `pa` is the
/// first host page it mapped and `pages` how many 4 KiB pages (1 or 512).
abi::Error unmap_guest_page(uint64_t root, uint64_t gpa, uint64_t& pa, uint64_t& pages);
bool guest_space_teardown(uint64_t root, uint64_t& cursor, WorkBudget& budget);

// --- time, ports and interrupt lines (io.cpp) ---------------------------------------
/// Microseconds since boot (TSC calibrated against the PIT).
uint64_t time_us();
/// Port I/O on behalf of a component holding an I/O-port capability;
/// width 1, 2 or 4 bytes.
uint32_t port_in(uint16_t port, unsigned width);
void port_out(uint16_t port, unsigned width, uint32_t value);
/// Masks or unmasks an ISA IRQ line at the 8259 PIC pair.
void irq_mask(unsigned line, bool masked);
/// True while any IRQ line is unmasked (bound).
bool irqs_bound();

// --- hardware virtualization (virt.cpp, vmx/, svm/) ---------------------------------
/// What the portable run loop (kernel/vcpu_run.cpp) does after a guest run.
enum class ExitAction {
  forward,         ///< a guest exit for the VMM: the vm::Exit is filled
  host_interrupt,  ///< a host interrupt/NMI ended the run: it has been taken; re-enter when scheduled
  resume,          ///< handled inside the kernel (its own interrupt window, a reflected #DB/#AC): re-enter
};

/// One virtualization backend (Intel VMX or AMD SVM): the operations table
/// chosen at boot. Every function runs with interrupts disabled.
struct VirtBackend {
  /// vm::kBackendVmx or vm::kBackendSvm (reported to VMMs in the state page).
  uint32_t id;
  /// Prepares a zeroed root table page (vm->root) for a new VM and assigns
  /// vm->tag (VPID / ASID). Errors: out_of_memory (no tag left).
  abi::Error (*vm_init)(Vm* vm);
  /// Releases vm->tag and flushes what the hardware cached for the VM.
  void (*vm_destroy)(Vm* vm);
  /// Guest page-table entry encoding (for guest_space.cpp): a non-leaf
  /// entry pointing at a table; a leaf mapping hpa with abi::Rights
  /// read/write/exec as write-back memory at `level` (0: a 4 KiB PTE; 1: a
  /// 2 MiB PDE, hpa 2 MiB aligned; 0 returned if the CPU cannot map 2 MiB
  /// guest pages); whether an entry maps or points to something.
  uint64_t (*gpt_table_entry)(uint64_t table_pa);
  uint64_t (*gpt_leaf_entry)(uint64_t hpa, uint64_t rights, unsigned level);
  bool (*gpt_present)(uint64_t entry);
  /// Initialises the zeroed control page (VMCS/VMCB, v->control_pa) and
  /// v->backend_state with the kernel-owned controls and a reset-like guest
  /// state (16-bit real mode at F000:FFF0). Errors: no_virtualization.
  abi::Error (*vcpu_init)(Vcpu* v);
  /// Releases backend resources of a vCPU (e.g. VMCLEAR).
  void (*vcpu_destroy)(Vcpu* v);
  /// Validates the groups in `mask` (vm::Load bits) of `s` and loads them
  /// into the vCPU. `s` is the kernel's private copy of the VMM's state page
  /// (kernel/state_page_copy.hpp): only the fields of the groups in `mask`
  /// and `request` are filled in, and they cannot change underneath.
  /// bad_guest_state: nothing is changed.
  abi::Error (*vcpu_load)(Vcpu* v, const vm::StatePage& s, uint64_t mask);
  /// Writes the registers and the groups in `mask` to the state page.
  void (*vcpu_save)(Vcpu* v, vm::StatePage& s, uint64_t mask);
  /// Injects the pending events the guest can take now, requests an
  /// interrupt window for those it cannot, enters the guest and returns at
  /// the next VM exit with the exit decoded into `exit`. The guest's FPU
  /// state must be live (fpu_activate(v->fpu)); host interrupts that end the
  /// run are taken through the IDT before this returns.
  ExitAction (*vcpu_enter)(Vcpu* v, vm::Exit& exit);
};

/// True for the exceptions that push an error code (x86: #DF, #TS, #NP, #SS,
/// #GP, #PF, #AC, #CP; Intel SDM Vol. 3A, table 6-1).
bool exception_has_error_code(unsigned vector);

/// Detects VMX or SVM on this CPU, enables it and prints one boot line saying
/// which backend is active or why none is. Called once at boot.
void virt_init();
/// Enables the active backend on an application processor (smp.cpp, after
/// its GDT, TSS and SYSCALL MSRs are set: SVM saves them as the host state
/// here; VMX does its VMXON). Nothing without a backend.
void virt_init_this_cpu();
/// The active backend, or nullptr when the CPU offers no usable VMX/SVM.
const VirtBackend* virt();

}  // namespace cos::platform
