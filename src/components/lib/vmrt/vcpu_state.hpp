// vmrt: the vendor-neutral view of one vCPU's state page (cos/vm.hpp) and
// the exit-dispatch table. Everything here works on memory only — no system
// calls — so it is host-compilable and unit-tested; vmrt::Vcpu (vcpu.hpp)
// adds the kernel objects and the run loop.
//
// State-page protocol (see cos/vm.hpp): after every exit the kernel has
// written `exit`, `regs` and the groups in `save_mask`; the VMM changes what
// it needs and resumes with the groups it changed in vcpu_run's load mask.
// VcpuState's setters record the group they touch in a dirty mask, which the
// run loop passes as the load mask, so a handler never has to think about
// load bits. Getters read the page as the kernel left it: a group that is
// not in the save mask holds what was last loaded or saved (fresh() says
// which groups the last exit wrote).
#pragma once
#include <stdint.h>

#include "cos/vm.hpp"
#include "vmrt/error.hpp"
#include "vmrt/guest_memory.hpp"
#include "vmrt/paging.hpp"

namespace vmrt {

namespace Load = cos::vm::Load;
namespace vm = cos::vm;

/// General-purpose registers, rip and rflags, in vm::Regs order.
enum class Reg : uint8_t {
  rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8, r9, r10, r11, r12, r13, r14, r15, rip, rflags,
};
/// Segment registers, in vm::StatePage order.
enum class Seg : uint8_t { es, cs, ss, ds, fs, gs, tr, ldtr };
/// Control registers and friends (group Load::cr).
enum class Cr : uint8_t { cr0, cr2, cr3, cr4, efer, dr7 };
/// System-call MSRs (group Load::syscall_msrs).
enum class SyscallMsr : uint8_t { star, lstar, cstar, sfmask, kernel_gs_base, sysenter_cs, sysenter_esp, sysenter_eip };

/// Every group a freshly created vCPU must be given before its first run
/// (all but Load::inject, which would inject the event in the page).
inline constexpr uint64_t kLoadInitial = Load::regs | Load::cr | Load::segments | Load::dtables |
                                         Load::syscall_msrs | Load::intercepts | Load::interruptibility;

/// What a handler wants done after it returns.
enum class Action : uint8_t {
  resume,  ///< re-enter the guest at the current rip (e.g. after mapping a page the guest faulted on)
  skip,    ///< advance rip past the exiting instruction (exit.instruction_length), then re-enter
  stop,    ///< leave the run loop; the vCPU stays stopped
};

class VcpuState;
/// An exit handler: reads the exit and the state through `vcpu`, changes
/// state with its setters, returns what to do. `ctx` is the pointer given
/// when the handler was registered.
using ExitHandler = Action (*)(VcpuState& vcpu, void* ctx);

/// Number of handler slots: every vm::ExitReason value (0..17) plus vendor.
inline constexpr unsigned kExitReasonSlots = 19;
/// Slot of an exit reason in a handler table, or -1 for values cos/vm.hpp
/// does not define.
int exit_reason_index(vm::ExitReason reason);
/// Name of an exit reason ("hlt", "gpa_fault"), or "unknown".
const char* exit_reason_name(vm::ExitReason reason);
/// Name of a backend (vm::kBackendVmx -> "vmx", vm::kBackendSvm -> "svm"), or "unknown".
const char* backend_name(uint32_t backend);

/// The 3-byte hypercall instruction of a backend: VMCALL (0f 01 c1) on VMX,
/// VMMCALL (0f 01 d9) on SVM; nullptr for other values. A guest that is to
/// run on either backend is copied with one of them and patched with
/// write_hypercall() once the backend is known (StatePage::backend).
const uint8_t* hypercall_instruction(uint32_t backend);
/// Writes the backend's hypercall instruction at guest-physical gpa.
/// Errors: bad_argument (unknown backend), not_ram.
Status write_hypercall(GuestMemory& mem, uint64_t gpa, uint32_t backend);

/// A table of exit handlers indexed by vm::ExitReason, plus a fallback.
class ExitHandlers {
 public:
  /// Registers `fn` (nullptr removes it) for `reason`. Unknown reasons are ignored.
  void on(vm::ExitReason reason, ExitHandler fn, void* ctx = nullptr);
  /// Registers the handler for exits that have none of their own.
  void on_unhandled(ExitHandler fn, void* ctx = nullptr);
  /// True if an exit of this reason would reach a handler (own or fallback).
  bool handles(vm::ExitReason reason) const;
  /// Runs the handler for the current exit of `vcpu` and applies its
  /// Action (Action::skip advances rip). Errors: unhandled_exit (no handler,
  /// no fallback; detail = raw reason, addr = rip), no_instruction_length
  /// (skip on an exit without an instruction length).
  Result<Action> dispatch(VcpuState& vcpu) const;

 private:
  struct Entry {
    ExitHandler fn = nullptr;
    void* ctx = nullptr;
  };
  Entry table_[kExitReasonSlots];
  Entry fallback_;
};

/// Typed access to one vCPU's state page with dirty-group tracking.
class VcpuState {
 public:
  VcpuState() = default;
  /// Views `page` (the kernel-shared state page); `mem` (may be null) is
  /// the guest memory translate() and handlers use.
  VcpuState(vm::StatePage* page, GuestMemory* mem) { attach(page, mem); }
  VcpuState(const VcpuState&) = delete;
  VcpuState& operator=(const VcpuState&) = delete;
  void attach(vm::StatePage* page, GuestMemory* mem);

  /// The raw page (for fields without an accessor); call mark_dirty() for
  /// groups you change through it.
  vm::StatePage& page() { return *page_; }
  const vm::StatePage& page() const { return *page_; }
  GuestMemory* memory() const { return mem_; }
  bool attached() const { return page_ != nullptr; }

  // --- identity -----------------------------------------------------------
  /// vm::kBackendVmx or vm::kBackendSvm (written by the kernel at vcpu_create).
  uint32_t backend() const { return page_->backend; }
  uint32_t id() const { return page_->vcpu_id; }
  /// Exits so far, all kinds (the kernel's counter).
  uint64_t exit_count() const { return page_->exits; }

  // --- the last exit ------------------------------------------------------
  const vm::Exit& exit() const { return page_->exit; }
  vm::ExitReason exit_reason() const { return page_->exit.reason; }

  // --- registers (Load::regs; always saved) --------------------------------
  uint64_t get(Reg r) const;
  void set(Reg r, uint64_t value);
  const vm::Regs& regs() const { return page_->regs; }
  /// Mutable registers; marks Load::regs dirty.
  vm::Regs& regs_mut() {
    dirty_ |= Load::regs;
    return page_->regs;
  }
  uint64_t rip() const { return page_->regs.rip; }
  void set_rip(uint64_t v) { set(Reg::rip, v); }
  /// Advances rip by the last exit's instruction length (wrapping at 64 KiB
  /// for 16-bit code when the segments were saved). Errors:
  /// no_instruction_length.
  Status advance_rip();

  // --- segments (Load::segments) ------------------------------------------
  const vm::Segment& segment(Seg s) const;
  void set_segment(Seg s, const vm::Segment& v);

  // --- control registers (Load::cr) ---------------------------------------
  uint64_t get(Cr c) const;
  void set(Cr c, uint64_t value);
  uint64_t cr0() const { return page_->cr0; }
  uint64_t cr3() const { return page_->cr3; }
  uint64_t cr4() const { return page_->cr4; }
  uint64_t efer() const { return page_->efer; }
  /// CR0, CR3, CR4 and EFER as the page walker wants them.
  PagingRegs paging_regs() const { return PagingRegs{page_->cr0, page_->cr3, page_->cr4, page_->efer}; }

  // --- descriptor tables (Load::dtables) ----------------------------------
  const vm::DescriptorTable& gdtr() const { return page_->gdtr; }
  const vm::DescriptorTable& idtr() const { return page_->idtr; }
  void set_gdtr(uint64_t base, uint32_t limit);
  void set_idtr(uint64_t base, uint32_t limit);

  // --- system-call MSRs (Load::syscall_msrs) ------------------------------
  uint64_t get(SyscallMsr m) const;
  void set(SyscallMsr m, uint64_t value);

  // --- intercepts, interruptibility, requests -----------------------------
  /// Bit n: exit on exception vector n (Load::intercepts).
  void set_exception_bitmap(uint32_t bitmap);
  uint32_t exception_bitmap() const { return page_->exception_bitmap; }
  /// vm::Intercept bits (Load::intercepts).
  void set_intercept_flags(uint32_t flags);
  /// Blocking by STI / MOV SS for one instruction (Load::interruptibility).
  void set_interrupt_shadow(bool on);
  /// Ask for (or stop asking for) an interrupt_window exit (StatePage::request,
  /// read on every vcpu_run; no load bit).
  void request_interrupt_window(bool on = true);
  /// Groups (besides regs) the kernel writes on every exit. Read on every vcpu_run.
  void set_save_mask(uint64_t mask) { page_->save_mask = mask & ~(Load::inject | Load::intercepts); }
  uint64_t save_mask() const { return page_->save_mask; }
  /// Queues an event to inject on the next entry, as part of the reply
  /// (Load::inject). For injection from outside a handler use
  /// Vcpu::inject_interrupt (the vcpu_inject system call).
  void queue_event(uint32_t vector, vm::EventType type, bool has_error_code = false, uint32_t error_code = 0);

  // --- dirty tracking -----------------------------------------------------
  /// Groups changed since the last vcpu_run (its next load mask).
  uint64_t dirty() const { return dirty_; }
  void mark_dirty(uint64_t groups) { dirty_ |= groups; }
  /// Returns the dirty mask and clears it (the run loop's load mask).
  uint64_t take_dirty() {
    uint64_t d = dirty_;
    dirty_ = 0;
    return d;
  }
  /// Groups the last exit wrote (Load::regs | save mask); all groups before the first run.
  uint64_t fresh() const { return fresh_; }
  /// Records that an exit has been written to the page (called by the run loop).
  void note_exit() { fresh_ = Load::regs | (page_->save_mask & ~(Load::inject | Load::intercepts)); }

  // --- guest addresses ----------------------------------------------------
  /// Translates a guest-virtual address with the guest's current paging
  /// registers (needs Load::cr in fresh()). Errors: stale_state, no guest
  /// memory (not_created), and those of vmrt::translate.
  Result<Translation> translate(uint64_t gva, uint32_t access = vm::kAccessRead) const;
  /// Linear address of segment:offset (base + offset; 32-bit wrap outside
  /// 64-bit mode; fs/gs bases only in 64-bit mode). Needs Load::segments.
  Result<uint64_t> linear(Seg s, uint64_t offset) const;
  /// True if the guest is in 64-bit mode (EFER.LMA and CS.L; needs cr+segments).
  bool long_mode_64() const;

  // --- exits --------------------------------------------------------------
  ExitHandlers handlers;
  /// Shorthands for handlers.on / handlers.on_unhandled.
  void on(vm::ExitReason reason, ExitHandler fn, void* ctx = nullptr) { handlers.on(reason, fn, ctx); }
  void on_unhandled(ExitHandler fn, void* ctx = nullptr) { handlers.on_unhandled(fn, ctx); }
  /// handlers.dispatch(*this).
  Result<Action> dispatch() { return handlers.dispatch(*this); }

 private:
  vm::StatePage* page_ = nullptr;
  GuestMemory* mem_ = nullptr;
  uint64_t dirty_ = 0;
  uint64_t fresh_ = ~0ull;
};

/// Stock handlers.
namespace handlers {
/// Action::skip: ignore the instruction (e.g. INVD, WBINVD, PAUSE).
Action skip(VcpuState& v, void* ctx);
/// Action::resume.
Action resume(VcpuState& v, void* ctx);
/// Action::stop.
Action stop(VcpuState& v, void* ctx);
/// Port I/O to nothing (vmrt::emulate_io with no port callbacks): IN reads
/// all ones (AL/AX/EAX, or every element of an INS), OUT is dropped. A REP
/// INS/OUTS moves at most kStringIoMaxElements elements per exit and
/// resumes the guest on the instruction until RCX is exhausted; a bad
/// string pointer gives the guest #GP/#SS/#PF. Needs Load::cr|segments in
/// the save mask for INS/OUTS; Action::stop if they are missing.
Action io_unassigned(VcpuState& v, void* ctx);
/// Unknown MSR: inject #GP(0) like hardware, do not skip.
Action msr_inject_gp(VcpuState& v, void* ctx);
}  // namespace handlers

}  // namespace vmrt
