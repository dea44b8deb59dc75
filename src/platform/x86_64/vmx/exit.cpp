// Entering the guest, event injection and VM-exit decoding (Intel SDM Vol.
// 3C, 27.6 "Event Injection", chapter 28 "VM Exits" and appendix C "VMX
// Basic Exit Reasons").
#include "kernel/console.hpp"
#include "kernel/kernel_lock.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/exception_merge.hpp"
#include "x86_64/vmx/decode.hpp"
#include "x86_64/vmx/ept.hpp"
#include "x86_64/vmx/internal.hpp"
#include "x86_64/vmx/vmx.hpp"

namespace cos::vmx {
namespace {

constexpr unsigned kGprRax = 0, kGprRcx = 1, kGprRsp = 4;
constexpr unsigned kVectorDb = 1, kVectorNmi = 2, kVectorGp = 13, kVectorAc = 17;
constexpr uint32_t kBlockingStiMovSs = Interruptibility::blocking_by_sti | Interruptibility::blocking_by_mov_ss;
constexpr uint64_t kPendingDebugBs = 1ull << 14;


struct __attribute__((packed)) DtPointer {
  uint16_t limit;
  uint64_t base;
};


bool guest_in_64bit_code() {
  return (vmread(Vmcs::entry_controls) & EntryCtl::ia32e_mode_guest) && (vmread(Vmcs::guest_cs_ar) & kArL);
}

uint64_t get_gpr(Vcpu* v, unsigned i) { return i == kGprRsp ? vmread(Vmcs::guest_rsp) : v->gpr[i]; }
void set_gpr(Vcpu* v, unsigned i, uint64_t value) {
  if (i == kGprRsp) vmwrite(Vmcs::guest_rsp, value);
  else v->gpr[i] = value;
}

void set_cpu1(VcpuState& x, uint32_t bits, bool on) {
  uint32_t c = on ? (x.cpu1 | bits) : (x.cpu1 & ~bits);
  if (c == x.cpu1) return;
  x.cpu1 = c;
  vmwrite(Vmcs::cpu_controls, c);
}

/// Moves the guest past an instruction the kernel emulated, as completing
/// it would: RIP wraps at the code size outside 64-bit code, RF and an
/// STI/MOV SS shadow end, and with RFLAGS.TF a single-step #DB is pending
/// (SDM Vol. 3B 18.3.1.1 and 18.3.1.4; Vol. 3C 25.4.2 "pending debug
/// exceptions", BS).
void skip_instruction(uint32_t length) {
  uint64_t rip = vmread(Vmcs::guest_rip) + length;
  if (!guest_in_64bit_code()) rip &= (vmread(Vmcs::guest_cs_ar) & kArDb) ? 0xffffffffull : 0xffffull;
  vmwrite(Vmcs::guest_rip, rip);
  const uint64_t rflags = vmread(Vmcs::guest_rflags);
  if (rflags & Rflags::rf) vmwrite(Vmcs::guest_rflags, rflags & ~Rflags::rf);
  if (rflags & Rflags::tf) vmwrite(Vmcs::guest_pending_debug, vmread(Vmcs::guest_pending_debug) | kPendingDebugBs);
  uint64_t intr = vmread(Vmcs::guest_interruptibility);
  if (intr & kBlockingStiMovSs) vmwrite(Vmcs::guest_interruptibility, intr & ~uint64_t(kBlockingStiMovSs));
}

bool protected_mode() { return vmread(Vmcs::guest_cr0) & Cr0::pe; }

/// Writes VM-entry interruption information for a queued event.
bool inject_event(const PendingEvent& ev) {
  uint32_t info = entry_intr_info(ev.vector, ev.type, protected_mode(), g_caps.cp_error_code);
  if (!info) return false;
  if (intr_type(info) == IntrType::software_interrupt) {
    // The return address pushed is RIP + length; the ABI's is the guest's
    // RIP (the VMM has moved past INT n). Length 0 needs IA32_VMX_MISC bit
    // 30; without it, enter one byte earlier with length 1.
    uint64_t length = 0;
    if (!g_caps.zero_length_inject) {
      uint64_t rip = vmread(Vmcs::guest_rip);
      if (rip != 0) {
        vmwrite(Vmcs::guest_rip, rip - 1);
        length = 1;
      }
    }
    vmwrite(Vmcs::entry_instruction_length, length);
  }
  if (info & IntrInfo::deliver_error_code) vmwrite(Vmcs::entry_exception_error_code, ev.error_code & 0x7fff);
  vmwrite(Vmcs::entry_intr_info, info);
  return true;
}

/// An exception the VMM queued while the VM-entry interruption field holds
/// the re-injection of an interrupted delivery was raised during that
/// delivery (the VMM's answer to, say, an EPT violation on the IDT): the two
/// combine as in the CPU (x86_64/exception_merge.hpp), the result replacing
/// the re-injection. Returns false when that is a triple fault.
bool combine_with_reinjection(Vcpu* v) {
  const uint32_t first = static_cast<uint32_t>(vmread(Vmcs::entry_intr_info));
  if (!valid(first) || !v->pending_exc.valid || v->pending_exc.type != vm::EventType::exception) return true;
  const PendingEvent second = v->pending_exc;
  v->pending_exc.valid = false;
  const IntrType first_type = intr_type(first);
  switch (x86::combine_exceptions(first_type == IntrType::hardware_exception, intr_vector(first), second.vector)) {
    case x86::Combined::shutdown:
      vmwrite(Vmcs::entry_intr_info, 0);
      return false;
    case x86::Combined::double_fault:
      inject_event(PendingEvent{true, x86::Vector::df, vm::EventType::exception, true, 0});
      return true;
    case x86::Combined::second:
      // An external interrupt whose delivery faulted stays pending.
      if (first_type == IntrType::external_interrupt && !v->pending_irq.valid)
        v->pending_irq = PendingEvent{true, static_cast<uint8_t>(intr_vector(first)), vm::EventType::external_interrupt,
                                      false, 0};
      vmwrite(Vmcs::entry_intr_info, 0);
      inject_event(second);
      return true;
  }
  return true;
}

/// Injects what the guest can take now and asks for an exit when it can
/// take the rest (interrupt window / NMI window).
void inject_pending(Vcpu* v, VcpuState& x) {
  bool busy = valid(static_cast<uint32_t>(vmread(Vmcs::entry_intr_info)));  // a re-injection
  const uint64_t rflags = vmread(Vmcs::guest_rflags);
  const uint32_t intr = static_cast<uint32_t>(vmread(Vmcs::guest_interruptibility));
  bool want_irq_window = v->window_requested_by_vmm;
  bool want_nmi_window = false;

  const bool interruptible = (rflags & Rflags::if_) && !(intr & kBlockingStiMovSs);
  if (v->pending_exc.valid && !busy) {
    PendingEvent& ev = v->pending_exc;
    if (ev.type == vm::EventType::nmi &&
        ((intr & kBlockingStiMovSs) || (g_caps.virtual_nmis && (intr & Interruptibility::blocking_by_nmi)))) {
      want_nmi_window = g_caps.virtual_nmis;
      want_irq_window |= !g_caps.virtual_nmis;  // STI/MOV-SS blocking ends after one instruction
    } else if (ev.type == vm::EventType::external_interrupt && !interruptible) {
      want_irq_window = true;  // queued through Load::inject
    } else {
      inject_event(ev);  // an invalid event is dropped
      ev.valid = false;
      busy = true;
    }
  }
  if (v->pending_irq.valid) {
    if (!busy && interruptible) {
      inject_event(v->pending_irq);
      v->pending_irq.valid = false;
    } else {
      want_irq_window = true;
    }
  }
  set_cpu1(x, Cpu1::interrupt_window_exiting, want_irq_window);
  if (g_caps.virtual_nmis) set_cpu1(x, Cpu1::nmi_window_exiting, want_nmi_window);
}

/// VM entry requires "pending debug exceptions".BS to equal RFLAGS.TF while
/// STI / MOV-SS blocking is in effect (27.3.1.5); a VMM that loads TF or the
/// interrupt shadow cannot know that.
void fix_pending_debug() {
  uint64_t intr = vmread(Vmcs::guest_interruptibility);
  if (!(intr & kBlockingStiMovSs)) return;
  uint64_t pending = vmread(Vmcs::guest_pending_debug);
  uint64_t want = (vmread(Vmcs::guest_rflags) & Rflags::tf) ? (pending | kPendingDebugBs) : (pending & ~kPendingDebugBs);
  if (want != pending) vmwrite(Vmcs::guest_pending_debug, want);
}

/// The registers VMX does not switch: SYSCALL MSRs and KERNEL_GS_BASE.
struct SyscallMsrs {
  uint64_t star, lstar, cstar, fmask, kgs;
  void read() {
    star = x86::rdmsr(x86::Msr::star);
    lstar = x86::rdmsr(x86::Msr::lstar);
    cstar = x86::rdmsr(x86::Msr::cstar);
    fmask = x86::rdmsr(x86::Msr::fmask);
    kgs = x86::rdmsr(x86::Msr::kernel_gs_base);
  }
  /// Writes the values of `to` that differ from this.
  void switch_to(const SyscallMsrs& to) const {
    if (to.star != star) x86::wrmsr(x86::Msr::star, to.star);
    if (to.lstar != lstar) x86::wrmsr(x86::Msr::lstar, to.lstar);
    if (to.cstar != cstar) x86::wrmsr(x86::Msr::cstar, to.cstar);
    if (to.fmask != fmask) x86::wrmsr(x86::Msr::fmask, to.fmask);
    if (to.kgs != kgs) x86::wrmsr(x86::Msr::kernel_gs_base, to.kgs);
  }
};

unsigned g_entry_failures;

void report_entry_failure(Vcpu* v, const char* what, uint64_t code, uint64_t qual) {
  if (g_entry_failures >= 16) return;
  ++g_entry_failures;
  kprintf("cos: vmx: vCPU %u: VM entry failed: %s %lu (qualification %#lx)\n", v->id, what, code, qual);
}

/// Reflects an exception the kernel intercepts for its own reasons back to
/// the guest, as the CPU would have delivered it: same vector and type (INT1
/// and INT3-like software exceptions with their instruction length).
void reflect_exception(VcpuState& x, uint32_t info, uint64_t qual, uint64_t length) {
  const unsigned vector = intr_vector(info);
  const IntrType type = intr_type(info);
  if (vector == kVectorDb && type == IntrType::hardware_exception) {
    // The exit left DR6 alone and reports the new bits in the qualification
    // (28.2.1); the CPU would have set them in DR6. VMX does not switch DR6:
    // the vCPU's copy (saved at this exit, loaded at its next entry or at its
    // first debug-register access) is the guest's, so the bits go there —
    // the hardware DR6 would be overwritten by that copy. Instruction
    // breakpoints are faults: the guest must resume with RF set or it hits
    // them again.
    uint64_t dr6 = (x.dr6 & ~0xfull) | (qual & 0x600f) | 0xffff0ff0ull;
    if (qual & 0x10000) dr6 &= ~0x10000ull;  // RTM is active-low in DR6
    x.dr6 = dr6;
    uint64_t dr7 = vmread(Vmcs::guest_dr7);
    for (unsigned i = 0; i < 4; ++i) {
      if ((qual & (1u << i)) && ((dr7 >> (16 + 4 * i)) & 3) == 0) {
        vmwrite(Vmcs::guest_rflags, vmread(Vmcs::guest_rflags) | Rflags::rf);
        break;
      }
    }
  }
  uint32_t entry = IntrInfo::valid | (static_cast<uint32_t>(type) << IntrInfo::type_shift) | vector;
  if (type == IntrType::hardware_exception && protected_mode() && exception_has_error_code(vector) &&
      (vector != x86::Vector::cp || g_caps.cp_error_code)) {
    entry |= IntrInfo::deliver_error_code;
    vmwrite(Vmcs::entry_exception_error_code, vmread(Vmcs::exit_intr_error_code) & 0x7fff);
  }
  if (needs_instruction_length(type)) vmwrite(Vmcs::entry_instruction_length, length);
  vmwrite(Vmcs::entry_intr_info, entry);
}

/// The guest's debug registers, live in the hardware for its runs (VMX
/// switches DR7 but not DR0-DR3 and DR6).
void load_debug_registers(const VcpuState& x) {
  asm volatile("mov %0, %%dr0" ::"r"(x.dr[0]));
  asm volatile("mov %0, %%dr1" ::"r"(x.dr[1]));
  asm volatile("mov %0, %%dr2" ::"r"(x.dr[2]));
  asm volatile("mov %0, %%dr3" ::"r"(x.dr[3]));
  asm volatile("mov %0, %%dr6" ::"r"(x.dr6));
}
void save_debug_registers(VcpuState& x) {
  asm volatile("mov %%dr0, %0" : "=r"(x.dr[0]));
  asm volatile("mov %%dr1, %0" : "=r"(x.dr[1]));
  asm volatile("mov %%dr2, %0" : "=r"(x.dr[2]));
  asm volatile("mov %%dr3, %0" : "=r"(x.dr[3]));
  asm volatile("mov %%dr6, %0" : "=r"(x.dr6));
}

/// Takes the host interrupt that caused an exit: acknowledge-interrupt-on-
/// exit is off, so it is still pending at the LAPIC / PIC and is delivered
/// through the IDT as soon as interrupts are enabled.
void take_host_interrupt() { asm volatile("sti; nop; cli" ::: "memory"); }

}  // namespace

void inject_exception_now(unsigned vector, bool has_error_code, uint32_t error_code) {
  PendingEvent ev{true, static_cast<uint8_t>(vector), vm::EventType::exception, has_error_code, error_code};
  inject_event(ev);
}

// --- In-kernel emulation of control-register writes the VMM left to the guest --

namespace {

bool write_cr0(Vcpu* v, VcpuState& x, uint64_t value) {
  const GuestLimits& l = g_caps.limits;
  const uint64_t mask = cr0_mask(x.intercept_flags);
  const uint64_t old = visible_cr(vmread(Vmcs::guest_cr0), vmread(Vmcs::cr0_read_shadow), mask);
  const uint64_t cr4 = vmread(Vmcs::guest_cr4);
  if (value >> 32) return false;
  if ((value & Cr0::pg) && !(value & Cr0::pe)) return false;
  if ((value & Cr0::nw) && !(value & Cr0::cd)) return false;
  if (value & ~(l.cr0_fixed1 | cr0_forced_on(l))) return false;
  uint64_t efer = vmread(Vmcs::guest_efer);
  uint64_t entry = vmread(Vmcs::entry_controls);
  bool ia32e = entry & EntryCtl::ia32e_mode_guest;
  if (!(old & Cr0::pg) && (value & Cr0::pg) && (efer & Efer::lme)) {
    if (!(cr4 & Cr4::pae)) return false;
    ia32e = true;
  } else if ((old & Cr0::pg) && !(value & Cr0::pg) && ia32e) {
    if (vmread(Vmcs::guest_cs_ar) & kArL) return false;
    ia32e = false;
  }
  const uint64_t real = cr0_real(value, l);
  if ((real & Cr0::pg) && (cr4 & Cr4::pae) && !ia32e && !load_pdptes(v->vm, vmread(Vmcs::guest_cr3)))
    return false;
  vmwrite(Vmcs::guest_cr0, real);
  vmwrite(Vmcs::cr0_read_shadow, value);
  vmwrite(Vmcs::guest_efer, ia32e ? (efer | Efer::lma) : (efer & ~Efer::lma));
  vmwrite(Vmcs::entry_controls, ia32e ? (entry | EntryCtl::ia32e_mode_guest) : (entry & ~uint64_t(EntryCtl::ia32e_mode_guest)));
  if ((old ^ value) & (Cr0::pg | Cr0::pe | Cr0::wp)) flush_vpid(v->vm);
  return true;
}

bool write_cr4(Vcpu* v, VcpuState& x, uint64_t value) {
  const GuestLimits& l = g_caps.limits;
  const uint64_t old = visible_cr(vmread(Vmcs::guest_cr4), vmread(Vmcs::cr4_read_shadow), cr4_mask(x.intercept_flags));
  const uint64_t cr0 = vmread(Vmcs::guest_cr0);
  const bool ia32e = vmread(Vmcs::entry_controls) & EntryCtl::ia32e_mode_guest;
  // No nested VMX, and no protection keys (x86_64/guest_policy.hpp).
  if (x86::cr4_write_faults(old, value, {cr4_guest_valid(l), cr0, vmread(Vmcs::guest_cr3), ia32e})) return false;
  const uint64_t real = value | l.cr4_fixed0;
  if ((cr0 & Cr0::pg) && (value & Cr4::pae) && !ia32e && old != value &&
      !load_pdptes(v->vm, vmread(Vmcs::guest_cr3)))
    return false;
  vmwrite(Vmcs::guest_cr4, real);
  vmwrite(Vmcs::cr4_read_shadow, value);
  if (old != value) flush_vpid(v->vm);
  return true;
}

bool write_cr3(Vcpu* v, uint64_t value) {
  if (value >> g_caps.limits.phys_bits) return false;
  const bool ia32e = vmread(Vmcs::entry_controls) & EntryCtl::ia32e_mode_guest;
  if ((vmread(Vmcs::guest_cr0) & Cr0::pg) && (vmread(Vmcs::guest_cr4) & Cr4::pae) && !ia32e &&
      !load_pdptes(v->vm, value))
    return false;
  vmwrite(Vmcs::guest_cr3, value);
  flush_vpid(v->vm);
  return true;
}

}  // namespace

bool emulate_cr_access(Vcpu* v, uint64_t qualification, uint32_t length, bool& gp_for_vmm) {
  VcpuState& x = vcpu_state(v);
  if (x.intercept_flags & vm::Intercept::cr_writes) return false;
  const CrQual q = decode_cr(qualification);
  const uint64_t operand_mask = guest_in_64bit_code() ? ~0ull : 0xffffffffull;
  bool ok;
  switch (q.access) {
    case CrAccess::mov_to_cr: {
      uint64_t value = get_gpr(v, q.gpr) & operand_mask;
      if (q.cr == 0) ok = write_cr0(v, x, value);
      else if (q.cr == 4) ok = write_cr4(v, x, value);
      else if (q.cr == 3) ok = write_cr3(v, value);
      else return false;  // CR8: the VMM's virtual APIC
      break;
    }
    case CrAccess::mov_from_cr:
      if (q.cr != 3) return false;
      set_gpr(v, q.gpr, vmread(Vmcs::guest_cr3) & operand_mask);
      ok = true;
      break;
    case CrAccess::clts: {
      uint64_t cr0 = visible_cr(vmread(Vmcs::guest_cr0), vmread(Vmcs::cr0_read_shadow), cr0_mask(x.intercept_flags));
      ok = write_cr0(v, x, cr0 & ~Cr0::ts);
      break;
    }
    case CrAccess::lmsw: {
      // LMSW loads PE, MP, EM and TS but cannot clear PE.
      uint64_t cr0 = visible_cr(vmread(Vmcs::guest_cr0), vmread(Vmcs::cr0_read_shadow), cr0_mask(x.intercept_flags));
      ok = write_cr0(v, x, (cr0 & ~0xfull) | (q.lmsw_source & 0xf) | (cr0 & Cr0::pe));
      break;
    }
    default:
      return false;
  }
  if (ok) skip_instruction(length);
  else if (x.vmm_exceptions & (1u << kVectorGp)) gp_for_vmm = true;
  else inject_exception_now(kVectorGp, true, 0);
  return true;
}

// --- vcpu_enter -----------------------------------------------------------------------

platform::ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit) {
  make_current(v);
  VcpuState& x = vcpu_state(v);
  flush_if_pending(v->vm);
  if (!combine_with_reinjection(v)) {
    exit = vm::Exit{};
    exit.reason = vm::ExitReason::shutdown;
    exit.vendor_code = uint32_t(Reason::triple_fault);
    return platform::ExitAction::forward;
  }
  inject_pending(v, x);
  fix_pending_debug();

  // Host state that may differ between entries.
  vmwrite(Vmcs::host_cr3, x86::read_cr3());
  vmwrite(Vmcs::host_fs_base, x86::rdmsr(x86::Msr::fs_base));
  vmwrite(Vmcs::host_gs_base, x86::rdmsr(x86::Msr::gs_base));

  SyscallMsrs host, guest{x.star, x.lstar, x.cstar, x.sfmask, x.kernel_gs_base};
  host.read();
  host.switch_to(guest);
  x86::write_cr2(x.cr2);
  if (x.dr_live) load_debug_registers(x);
  DtPointer gdt;
  asm volatile("sgdt %0" : "=m"(gdt));

  kernel_lock_leave();  // the VMCS is this CPU's while its vCPU runs
  const uint64_t rc = vmx_enter_guest(v->gpr, vcpu_state(v).launched);
  kernel_lock_enter();

  // VM exits set the GDTR limit to 0xffff (28.5.2): restore it.
  asm volatile("lgdt %0" ::"m"(gdt));
  x.cr2 = x86::read_cr2();
  if (x.dr_live) save_debug_registers(x);  // VM exits set DR7 to 0x400 (28.5.1): the host's stay disabled
  x.kernel_gs_base = x86::rdmsr(x86::Msr::kernel_gs_base);
  guest.kgs = x.kernel_gs_base;
  guest.switch_to(host);

  exit = vm::Exit{};
  if (rc != 0) {
    // VMfailInvalid / VMfailValid: the guest never ran.
    uint64_t error = rc == 2 ? vmread(Vmcs::vm_instruction_error) : ~0ull;
    report_entry_failure(v, rc == 2 ? "VM-instruction error" : "VMfailInvalid", error, 0);
    exit.reason = vm::ExitReason::entry_failure;
    exit.entry.reason = error;
    return platform::ExitAction::forward;
  }

  const uint32_t full_reason = static_cast<uint32_t>(vmread(Vmcs::exit_reason));
  const uint32_t reason = full_reason & 0xffff;
  const uint64_t qual = vmread(Vmcs::exit_qualification);
  exit.vendor_code = full_reason;
  exit.vendor_qualification = qual;

  if (full_reason & kExitReasonEntryFailure) {
    // Guest state or MSR loading failed (27.8): nothing ran, the VMCS is
    // not launched.
    report_entry_failure(v, "exit reason", reason, qual);
    exit.reason = vm::ExitReason::entry_failure;
    exit.entry.reason = full_reason;
    return platform::ExitAction::forward;
  }
  vcpu_state(v).launched = true;
  if (!g_caps.lma_store) {
    uint64_t entry = vmread(Vmcs::entry_controls);
    bool lma = vmread(Vmcs::guest_efer) & Efer::lma;
    vmwrite(Vmcs::entry_controls, lma ? (entry | EntryCtl::ia32e_mode_guest) : (entry & ~uint64_t(EntryCtl::ia32e_mode_guest)));
  }

  // An event whose delivery the exit interrupted is delivered again on the
  // next entry (SDM Vol. 3C, 28.2.4 "Information for VM Exits During Event
  // Delivery").
  const uint32_t idt_info = static_cast<uint32_t>(vmread(Vmcs::idt_vectoring_info));
  const uint32_t exit_info = static_cast<uint32_t>(vmread(Vmcs::exit_intr_info));
  if (valid(idt_info)) {
    vmwrite(Vmcs::entry_intr_info, reinjection_info(idt_info));
    if (idt_info & IntrInfo::deliver_error_code)
      vmwrite(Vmcs::entry_exception_error_code, vmread(Vmcs::idt_vectoring_error_code));
    if (needs_instruction_length(intr_type(idt_info)))
      vmwrite(Vmcs::entry_instruction_length, vmread(Vmcs::exit_instruction_length));
  } else if (g_caps.virtual_nmis &&
             ((reason == uint32_t(Reason::exception_nmi) && (exit_info & IntrInfo::nmi_unblocking)) ||
              (reason == uint32_t(Reason::ept_violation) && (qual & (1u << 12))))) {
    // A fault in IRET unblocked NMIs; the guest resumes before that IRET.
    vmwrite(Vmcs::guest_interruptibility,
            vmread(Vmcs::guest_interruptibility) | Interruptibility::blocking_by_nmi);
  }

  exit.instruction_length =
      exit_instruction_length(reason, exit_info, idt_info, vmread(Vmcs::exit_instruction_length));
  exit.during_delivery = valid(idt_info) ? 1 : 0;

  switch (static_cast<Reason>(reason)) {
    case Reason::external_interrupt:
    case Reason::preemption_timer:  // the guest ran its budget: let the host look
      take_host_interrupt();
      return platform::ExitAction::host_interrupt;

    case Reason::exception_nmi: {
      if (intr_type(exit_info) == IntrType::nmi) {
        // A host NMI (NMI exiting): hand it to the host's handler.
        asm volatile("int $2" ::: "memory");
        return platform::ExitAction::host_interrupt;
      }
      const unsigned vector = intr_vector(exit_info);
      if (vector < 32 && ((1u << vector) & kForcedExceptions) && !((1u << vector) & x.vmm_exceptions)) {
        // The reflected exception replaces the re-injection written above;
        // an external interrupt whose delivery it interrupted stays queued.
        if (valid(idt_info) && intr_type(idt_info) == IntrType::external_interrupt && !v->pending_irq.valid)
          v->pending_irq = PendingEvent{true, intr_vector(idt_info), vm::EventType::external_interrupt, false, 0};
        reflect_exception(x, exit_info, qual, vmread(Vmcs::exit_instruction_length));
        return platform::ExitAction::resume;
      }
      exit.reason = vm::ExitReason::exception;
      exit.exception.vector = vector;
      exit.exception.has_error_code = (exit_info & IntrInfo::deliver_error_code) != 0;
      exit.exception.error_code =
          exit.exception.has_error_code ? static_cast<uint32_t>(vmread(Vmcs::exit_intr_error_code)) : 0;
      if (vector == 14) exit.exception.cr2 = qual;
      return platform::ExitAction::forward;
    }

    case Reason::triple_fault: exit.reason = vm::ExitReason::shutdown; return platform::ExitAction::forward;

    case Reason::interrupt_window:
      set_cpu1(x, Cpu1::interrupt_window_exiting, false);
      if (v->window_requested_by_vmm) {
        v->window_requested_by_vmm = false;
        exit.reason = vm::ExitReason::interrupt_window;
        return platform::ExitAction::forward;
      }
      return platform::ExitAction::resume;  // the kernel's own pending injection

    case Reason::nmi_window:
      set_cpu1(x, Cpu1::nmi_window_exiting, false);
      return platform::ExitAction::resume;

    case Reason::mov_dr:
      // The guest's first debug-register access: from now on its DR0-DR3
      // and DR6 are live in the hardware while it runs (loaded and saved
      // around every run) and MOV DR no longer exits; the instruction runs
      // again, on its own values.
      x.dr_live = true;
      set_cpu1(x, Cpu1::mov_dr_exiting, false);
      return platform::ExitAction::resume;

    case Reason::rdpmc:  // no performance counters are offered
      inject_exception_now(x86::Vector::gp, true, 0);
      return platform::ExitAction::resume;

    case Reason::vmclear:
    case Reason::vmlaunch:
    case Reason::vmptrld:
    case Reason::vmptrst:
    case Reason::vmread:
    case Reason::vmresume:
    case Reason::vmwrite:
    case Reason::vmxoff:
    case Reason::vmxon:
    case Reason::invept:
    case Reason::invvpid:
    case Reason::vmfunc:
    case Reason::getsec:
      inject_exception_now(x86::Vector::ud, false, 0);  // no nested virtualization, no SMX
      return platform::ExitAction::resume;

    case Reason::cpuid: exit.reason = vm::ExitReason::cpuid; return platform::ExitAction::forward;
    case Reason::hlt: exit.reason = vm::ExitReason::hlt; return platform::ExitAction::forward;
    case Reason::invd: exit.reason = vm::ExitReason::invd; return platform::ExitAction::forward;
    case Reason::wbinvd: exit.reason = vm::ExitReason::wbinvd; return platform::ExitAction::forward;
    case Reason::xsetbv: exit.reason = vm::ExitReason::xsetbv; return platform::ExitAction::forward;
    case Reason::vmcall: exit.reason = vm::ExitReason::hypercall; return platform::ExitAction::forward;
    case Reason::pause: exit.reason = vm::ExitReason::pause; return platform::ExitAction::forward;
    case Reason::rdtsc:
    case Reason::rdtscp: exit.reason = vm::ExitReason::rdtsc; return platform::ExitAction::forward;

    case Reason::rdmsr:
    case Reason::wrmsr:
      exit.reason = reason == uint32_t(Reason::rdmsr) ? vm::ExitReason::msr_read : vm::ExitReason::msr_write;
      exit.msr.index = static_cast<uint32_t>(v->gpr[kGprRcx]);
      return platform::ExitAction::forward;

    case Reason::io:
      exit.reason = vm::ExitReason::io;
      decode_io(qual, v->gpr[kGprRax], exit);
      return platform::ExitAction::forward;

    case Reason::ept_violation:
      exit.reason = vm::ExitReason::gpa_fault;
      decode_ept_violation(qual, vmread(Vmcs::guest_physical_address), exit);
      return platform::ExitAction::forward;

    case Reason::cr_access: {
      bool gp_for_vmm = false;
      if (emulate_cr_access(v, qual, exit.instruction_length, gp_for_vmm)) {
        if (!gp_for_vmm) return platform::ExitAction::resume;
        exit.reason = vm::ExitReason::exception;  // as the CPU's #GP would have exited
        exit.exception.vector = kVectorGp;
        exit.exception.has_error_code = true;
        exit.exception.error_code = 0;
        return platform::ExitAction::forward;
      }
      exit.reason = vm::ExitReason::cr_access;
      decode_cr(qual, exit);
      return platform::ExitAction::forward;
    }

    case Reason::ept_misconfig:
      // Cannot happen with the kernel's own entries; report the address.
      exit.reason = vm::ExitReason::vendor;
      exit.vendor_qualification = vmread(Vmcs::guest_physical_address);
      return platform::ExitAction::forward;

    default:
      exit.reason = vm::ExitReason::vendor;
      return platform::ExitAction::forward;
  }
}

}  // namespace cos::vmx
