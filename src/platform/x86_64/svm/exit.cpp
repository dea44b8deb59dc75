// Entering the guest, event injection and #VMEXIT decoding (AMD APM Vol. 2,
// 15.5 "VMRUN Instruction", 15.6 "#VMEXIT", 15.20 "Event Injection",
// 15.21 "Interrupt and LDTR/TR Intercepts" and appendix C).
#include "kernel/kernel_lock.hpp"
#include "x86_64/exception_merge.hpp"
#include "x86_64/svm/decode.hpp"
#include "x86_64/svm/guest_memory.hpp"
#include "x86_64/svm/internal.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/this_cpu.hpp"
#include "cos/limits.hpp"

namespace cos::svm {
namespace {

/// The save area as the VMM loaded it, for an entry that refuses it: one per
/// CPU (the kernel lock is not held while the guest runs).
uint8_t g_snapshot[cos_limits::kMaxCpus][kSaveAreaBytes];

constexpr unsigned kGprRcx = 1;

uint8_t* save_area(Vmcb& c) { return reinterpret_cast<uint8_t*>(&c) + kSaveAreaOffset; }
bool long_mode(const Vmcb& c) { return (c.efer & Efer::lma) && (c.cs.attr & SegAttr::l); }

/// The EVENTINJ error-code bits for an event: none in real mode, where the
/// CPU pushes no error code (KVM drops it there too; VMX refuses the entry,
/// Intel SDM Vol. 3C, 27.2.1.3), so both backends deliver the same frame.
uint64_t error_code_bits(const Vmcb& c, bool has_error_code, uint32_t error_code) {
  if (!has_error_code || !(c.cr0 & Cr0::pe)) return 0;
  return Event::error_valid | (static_cast<uint64_t>(error_code) << 32);
}

uint64_t eventinj(const Vmcb& c, const PendingEvent& e) {
  return e.vector | (static_cast<uint64_t>(e.type) << Event::type_shift) | Event::valid |
         error_code_bits(c, e.has_error_code, e.error_code);
}

/// Chooses what to inject at this entry; requests an interrupt window for an
/// external interrupt the guest cannot take yet (a virtual interrupt with the
/// highest priority exits with VINTR as soon as the guest could take it,
/// APM 15.21.4). An exception the VMM queued while EVENTINJ holds the
/// re-injection of an interrupted delivery was raised during that delivery
/// (the VMM's answer to, say, an NPF on the IDT): the two combine as in the
/// CPU (x86_64/exception_merge.hpp). Returns false when that is a triple
/// fault: the guest shuts down instead of entering.
bool prepare_injection(Vcpu* v, Vmcb& c) {
  c.intercept3 &= ~Intercept3::vintr;
  c.vintr &= ~Vintr::v_irq;
  if ((c.eventinj & Event::valid) && v->pending_exc.valid && v->pending_exc.type == vm::EventType::exception) {
    const uint64_t first = c.eventinj;
    const auto first_type = static_cast<EventType>((first & Event::type_mask) >> Event::type_shift);
    const PendingEvent second = v->pending_exc;
    v->pending_exc.valid = false;
    switch (x86::combine_exceptions(first_type == EventType::exception, first & Event::vector_mask, second.vector)) {
      case x86::Combined::shutdown:
        c.eventinj = 0;
        return false;
      case x86::Combined::double_fault:
        c.eventinj = eventinj(c, PendingEvent{true, x86::Vector::df, vm::EventType::exception, true, 0});
        break;
      case x86::Combined::second:
        // An external interrupt whose delivery faulted stays pending.
        if (first_type == EventType::intr && !v->pending_irq.valid)
          v->pending_irq = PendingEvent{true, static_cast<uint8_t>(first & Event::vector_mask),
                                        vm::EventType::external_interrupt, false, 0};
        c.eventinj = eventinj(c, second);
        break;
    }
  }
  if (c.eventinj & Event::valid) return true;  // re-injecting an interrupted delivery
  if (v->pending_exc.valid) {
    c.eventinj = eventinj(c, v->pending_exc);
    v->pending_exc.valid = false;
    return true;
  }
  const bool interruptible = (c.rflags & Rflags::if_) && !(c.interrupt_shadow & Shadow::interrupt_shadow);
  if (v->pending_irq.valid && interruptible) {
    c.eventinj = eventinj(c, v->pending_irq);
    v->pending_irq.valid = false;
    return true;
  }
  if (v->pending_irq.valid || v->window_requested_by_vmm) {
    c.vintr |= Vintr::v_irq | (0xfull << Vintr::v_intr_prio_shift) | Vintr::v_ign_tpr;
    c.intercept3 |= Intercept3::vintr;
  }
  return true;
}

/// Queues a hardware exception for the next entry, replacing nothing but a
/// re-injection of the event whose delivery this exit interrupted: an
/// external interrupt among those stays queued (APM 15.20).
void inject_exception(Vcpu* v, Vmcb& c, unsigned vector, bool has_error_code, uint32_t error_code) {
  const uint64_t interrupted = c.eventinj;
  if ((interrupted & Event::valid) && ((interrupted & Event::type_mask) >> Event::type_shift) == uint64_t(EventType::intr) &&
      !v->pending_irq.valid)
    v->pending_irq = PendingEvent{true, static_cast<uint8_t>(interrupted & Event::vector_mask),
                                  vm::EventType::external_interrupt, false, 0};
  c.eventinj = vector | (uint64_t(EventType::exception) << Event::type_shift) | Event::valid |
               error_code_bits(c, has_error_code, error_code);
}

/// Reflects an exception the kernel intercepts for its own reasons (#DB,
/// #AC: x86_64/guest_policy.hpp) back into the guest as the CPU would have
/// delivered it. For #DB the VMCB's DR6 already holds the new status bits;
/// an instruction breakpoint (a fault) needs RF so the guest gets past it.
void reflect_exception(Vcpu* v, Vmcb& c, unsigned vector) {
  if (vector == x86::Vector::db) {
    for (unsigned i = 0; i < 4; ++i)
      if ((c.dr6 & (1u << i)) && ((c.dr7 >> (16 + 4 * i)) & 3) == 0) c.rflags |= Rflags::rf;
    inject_exception(v, c, vector, false, 0);
  } else {
    inject_exception(v, c, vector, true, static_cast<uint32_t>(c.exitinfo1));  // #AC: error code 0
  }
}

void load_debug_registers(const VcpuState& x) {
  asm volatile("mov %0, %%dr0" ::"r"(x.dr[0]));
  asm volatile("mov %0, %%dr1" ::"r"(x.dr[1]));
  asm volatile("mov %0, %%dr2" ::"r"(x.dr[2]));
  asm volatile("mov %0, %%dr3" ::"r"(x.dr[3]));
}
void save_debug_registers(VcpuState& x) {
  asm volatile("mov %%dr0, %0" : "=r"(x.dr[0]));
  asm volatile("mov %%dr1, %0" : "=r"(x.dr[1]));
  asm volatile("mov %%dr2, %0" : "=r"(x.dr[2]));
  asm volatile("mov %%dr3, %0" : "=r"(x.dr[3]));
}

/// Guest register `n` (0 = RAX .. 15 = R15): RAX and RSP live in the VMCB.
uint64_t guest_gpr(const Vcpu* v, const Vmcb& c, unsigned n) { return n == 0 ? c.rax : n == 4 ? c.rsp : v->gpr[n]; }

/// What became of an intercepted CR write.
enum class CrWrite { resume, forward, undecodable };

/// An exception exit as the CPU would have reported it, for an exception
/// the kernel's emulation raises while the VMM intercepts that vector.
void exception_exit(vm::Exit& exit, unsigned vector, bool has_error_code) {
  exit = vm::Exit{};
  exit.reason = vm::ExitReason::exception;
  exit.vendor_code = uint64_t(ExitCode::excp_base) + vector;
  exit.exception.vector = vector;
  exit.exception.has_error_code = has_error_code;
}

/// What fetch_cr_write found.
enum class Fetched { decoded, again, undecodable };

/// Reads the instruction at the guest's RIP for a CR-write exit the kernel
/// emulates and decodes it with `decoder`. Bytes that do not decode (the
/// guest changed a mapping the CPU still had in its TLB) make the kernel
/// flush the guest's TLB and run the instruction again (`again`), once:
/// then `undecodable`, and the VMM gets the exit.
template <typename Insn, typename Decoder>
Fetched fetch_cr_write(Vcpu* v, const Vmcb& c, VcpuState& x, Insn& insn, Decoder decoder) {
  uint8_t bytes[15];
  GuestPhys mem{v->vm->root, v->vm->unmaps, x.npt_cache};
  const size_t n = read_guest_code(mem, c, bytes, sizeof(bytes));
  if (decoder(bytes, n, long_mode(c), insn)) {
    x.cr_refetched = false;
    return Fetched::decoded;
  }
  if (x.cr_refetched) return Fetched::undecodable;
  x.cr_refetched = true;
  request_flush(v->vm);
  return Fetched::again;
}

/// #GP(0) from an emulated CR write: queued like a VMM's exception
/// (v->pending_exc), or the exit when the VMM intercepts #GP.
CrWrite raise_gp(Vcpu* v, const VcpuState& x, vm::Exit& exit) {
  if (x.vmm_exceptions & (1u << x86::Vector::gp)) {
    exception_exit(exit, x86::Vector::gp, true);
    return CrWrite::forward;
  }
  v->pending_exc = PendingEvent{true, x86::Vector::gp, vm::EventType::exception, true, 0};
  return CrWrite::resume;
}

/// Completes an instruction of `length` bytes the kernel emulated, as the
/// CPU would: RIP moves past it (wrapping at the code size outside 64-bit
/// code), RF and an STI/MOV SS shadow end and a single-step trap
/// (RFLAGS.TF, DR6.BS) follows, queued or the exit as raise_gp's #GP.
CrWrite complete_emulated(Vcpu* v, Vmcb& c, const VcpuState& x, vm::Exit& exit, uint32_t length) {
  uint64_t next = g_caps.nrip_save ? c.next_rip : c.rip + length;
  if (!long_mode(c)) next &= (c.cs.attr & SegAttr::db) ? 0xffffffffull : 0xffffull;
  const bool single_step = c.rflags & Rflags::tf;
  c.rip = next;
  c.rflags &= ~Rflags::rf;
  c.interrupt_shadow = 0;
  if (single_step) {
    c.dr6 |= x86::kDr6SingleStep;
    if (x.vmm_exceptions & (1u << x86::Vector::db)) {
      exception_exit(exit, x86::Vector::db, false);
      return CrWrite::forward;
    }
    v->pending_exc = PendingEvent{true, x86::Vector::db, vm::EventType::exception, false, 0};
  }
  return CrWrite::resume;
}

/// A guest's MOV to CR4, intercepted to keep CR4.PKE the host's
/// (x86_64/guest_policy.hpp) or while EFER.LME is set with paging off
/// (guest_state.hpp, lme_without_paging), done as the CPU would: #GP(0)
/// where the CPU (or the policy) refuses the value, else CR4 takes it, the
/// guest's TLB is flushed when it changed, and the instruction completes
/// (complete_emulated). The instruction's bytes are read through the
/// guest's page tables when the CPU has no decode assists (fetch_cr_write).
CrWrite emulate_cr4_write(Vcpu* v, Vmcb& c, VcpuState& x, vm::Exit& exit) {
  MovToCr insn{};
  if (g_caps.decode_assists && g_caps.nrip_save && (c.exitinfo1 >> 63)) {
    insn = MovToCr{static_cast<unsigned>(c.exitinfo1 & 0xf), static_cast<uint32_t>(c.next_rip - c.rip)};
  } else {
    const Fetched fetched = fetch_cr_write(v, c, x, insn, [](const uint8_t* b, size_t n, bool lm, MovToCr& out) {
      return decode_mov_to_cr(b, n, lm, 4, out);
    });
    if (fetched == Fetched::undecodable) return CrWrite::undecodable;
    if (fetched == Fetched::again) return CrWrite::resume;
  }
  uint64_t value = guest_gpr(v, c, insn.gpr);
  if (!long_mode(c)) value &= 0xffffffffull;  // 32-bit operand outside 64-bit code
  const bool lma = (c.efer & Efer::lma) != 0;
  if (x86::cr4_write_faults(c.cr4, value, {g_caps.limits.cr4_valid, c.cr0, c.cr3, lma})) return raise_gp(v, x, exit);
  if (value != c.cr4) {
    c.cr4 = value;
    request_flush(v->vm);  // PGE, PAE, PSE, PCIDE, SMEP... change what the TLB may keep
  }
  return complete_emulated(v, c, x, exit, insn.length);
}

/// A guest's CR0 write (MOV to CR0, CLTS, LMSW from a register) while the
/// kernel holds EFER.LME back (guest_state.hpp, lme_held_back): paging is
/// off, so this is never 64-bit code. With LME set and PAE clear, turning
/// paging on is #GP(0) (x86::cr0_write_faults), so the emulation never
/// enters long mode; any other valid value is written to CR0 (ET stays
/// set) and the instruction completes. LMSW with a memory operand is not
/// emulated: `undecodable`, and the VMM gets the CR0-write exit.
CrWrite emulate_cr0_write(Vcpu* v, Vmcb& c, VcpuState& x, vm::Exit& exit) {
  Cr0Write insn{};
  if (g_caps.decode_assists && g_caps.nrip_save && (c.exitinfo1 >> 63)) {
    insn = Cr0Write{Cr0Writer::mov, static_cast<unsigned>(c.exitinfo1 & 0xf), static_cast<uint32_t>(c.next_rip - c.rip)};
  } else {
    const Fetched fetched = fetch_cr_write(v, c, x, insn, decode_cr0_write);
    if (fetched == Fetched::undecodable) return CrWrite::undecodable;
    if (fetched == Fetched::again) return CrWrite::resume;
  }
  uint64_t value = c.cr0;
  switch (insn.kind) {
    case Cr0Writer::mov: value = guest_gpr(v, c, insn.gpr) & 0xffffffffull; break;
    case Cr0Writer::clts: value = c.cr0 & ~Cr0::ts; break;
    case Cr0Writer::lmsw_register: value = lmsw_result(c.cr0, guest_gpr(v, c, insn.gpr)); break;
  }
  if (x86::cr0_write_faults(c.cr0, value, {c.efer, c.cr4, false})) return raise_gp(v, x, exit);
  value |= Cr0::et;
  if (value != c.cr0) {
    c.cr0 = value;
    request_flush(v->vm);
  }
  return complete_emulated(v, c, x, exit, insn.length);
}

/// Acts on what an emulation returned: true with `action` set when the
/// exit is done with (resumed, or forwarded as the exception it raised);
/// false when the VMM gets the original exit.
bool cr_write_done(CrWrite done, platform::ExitAction& action) {
  if (done == CrWrite::resume) action = platform::ExitAction::resume;
  else if (done == CrWrite::forward) action = platform::ExitAction::forward;
  return done != CrWrite::undecodable;
}

/// Exits the kernel handles itself (x86_64/guest_policy.hpp); true when
/// `code` was one of them.
bool handled_by_kernel(Vcpu* v, Vmcb& c, VcpuState& x, uint64_t code) {
  if (is_exception_exit(code)) {
    const unsigned vector = static_cast<unsigned>(code - uint64_t(ExitCode::excp_base));
    if (!((1u << vector) & x86::kForcedExceptions) || ((1u << vector) & x.vmm_exceptions)) return false;
    reflect_exception(v, c, vector);
    return true;
  }
  if ((code >= uint64_t(ExitCode::dr0_read) && code < uint64_t(ExitCode::dr0_read) + 4) ||
      (code >= uint64_t(ExitCode::dr0_write) && code < uint64_t(ExitCode::dr0_write) + 4)) {
    // The guest's first DR0-DR3 access: from now on they are live in the
    // hardware while it runs and no longer exit; the instruction runs again.
    x.dr_live = true;
    c.intercept_dr = 0;
    return true;
  }
  switch (static_cast<ExitCode>(code)) {
    case ExitCode::rdpmc:  // no performance counters are offered
      inject_exception(v, c, x86::Vector::gp, true, 0);
      return true;
    case ExitCode::rdpru:
    case ExitCode::vmrun:
    case ExitCode::vmload:
    case ExitCode::vmsave:
    case ExitCode::stgi:
    case ExitCode::clgi:
    case ExitCode::skinit:
    case ExitCode::invlpga:
      inject_exception(v, c, x86::Vector::ud, false, 0);  // no nested virtualization, no RDPRU
      return true;
    default:
      return false;
  }
}

}  // namespace

platform::ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit) {
  Vmcb& c = vmcb(v);
  VcpuState& x = vcpu_state(v);
  prepare_tlb(v->vm, c);
  if (!prepare_injection(v, c)) {
    exit = vm::Exit{};
    exit.reason = vm::ExitReason::shutdown;
    exit.vendor_code = uint64_t(ExitCode::shutdown);
    return platform::ExitAction::forward;
  }
  c.clean_bits = 0;
  const bool snapshot = x.snapshot_due;
  uint8_t* const saved = g_snapshot[platform::this_cpu()];
  if (snapshot) __builtin_memcpy(saved, save_area(c), kSaveAreaBytes);

  // QEMU's #VMEXIT with LME set and paging and PAE off (guest_state.hpp):
  // LME is held back for the run and CR0 writes exit; CR4 writes exit
  // while LME is set with paging off. The VMCB has the guest's own EFER
  // and intercepts again as soon as the run ends.
  const uint32_t cr_intercepts = c.intercept_cr;
  const bool hold_lme = lme_held_back(c.efer, c.cr0, c.cr4);
  if (lme_without_paging(c.efer, c.cr0)) c.intercept_cr |= cr_write(4);
  if (hold_lme) {
    c.efer &= ~Efer::lme;
    c.intercept_cr |= cr_write(0);
  }

  if (x.dr_live) load_debug_registers(x);
  kernel_lock_leave();  // the VMCB is this CPU's while its vCPU runs
  svm_run(v->control_pa, v->gpr, host_vmsave_pa());
  kernel_lock_enter();
  if (x.dr_live) save_debug_registers(x);
  if (hold_lme) c.efer |= Efer::lme;  // every EFER write exits: the guest cannot have changed it
  c.intercept_cr = cr_intercepts;
  // The guest's DR7 (in the VMCB) may have armed breakpoints on its DR0-DR3
  // values: the host's stays disabled. #VMEXIT loads the host's DR7 from the
  // save area, but QEMU's TCG (7.2) does so without dropping the breakpoints
  // the guest armed, which then fire in the VMM, the kernel (a #DB loop at
  // the system-call entry hangs the machine) and later guests. A DR7 write
  // that changes more than the enable bits makes it drop them; for the CPU
  // both writes only disable what is disabled already.
  if (c.dr7 & x86::kDr7Enables) {
    asm volatile("mov %0, %%dr7" ::"r"(x86::kDr7Reset | x86::kDr7Rw0Write));
    asm volatile("mov %0, %%dr7" ::"r"(x86::kDr7Reset));
  }

  if (is_invalid_exit(c.exitcode)) {
    // The refused state goes back to what the VMM loaded (the hardware may
    // have written host values into the save area).
    if (snapshot) __builtin_memcpy(save_area(c), saved, kSaveAreaBytes);
    exit = vm::Exit{};
    exit.reason = vm::ExitReason::entry_failure;
    exit.vendor_code = c.exitcode;
    exit.entry.reason = c.exitcode;
    return platform::ExitAction::forward;
  }
  x.snapshot_due = false;

  // An event whose delivery the exit interrupted is delivered again.
  c.eventinj = (c.exitintinfo & Event::valid) ? c.exitintinfo : 0;
  const auto code = static_cast<ExitCode>(c.exitcode);
  if (code == ExitCode::intr || code == ExitCode::nmi || code == ExitCode::smi || code == ExitCode::init) {
    asm volatile("sti; nop; cli" ::: "memory");  // take it through the IDT
    return platform::ExitAction::host_interrupt;
  }
  if (code == ExitCode::vintr) {
    c.vintr &= ~Vintr::v_irq;
    c.intercept3 &= ~Intercept3::vintr;
    if (!v->window_requested_by_vmm) return platform::ExitAction::resume;  // the kernel's own pending injection
    v->window_requested_by_vmm = false;
    exit = vm::Exit{};
    exit.reason = vm::ExitReason::interrupt_window;
    exit.vendor_code = c.exitcode;
    return platform::ExitAction::forward;
  }
  if (!(x.intercept_flags & vm::Intercept::cr_writes)) {  // CR writes the kernel intercepts for itself
    platform::ExitAction action{};
    if (c.exitcode == uint64_t(ExitCode::cr0_write) + 4 && cr_write_done(emulate_cr4_write(v, c, x, exit), action))
      return action;
    if (c.exitcode == uint64_t(ExitCode::cr0_write) && hold_lme && cr_write_done(emulate_cr0_write(v, c, x, exit), action))
      return action;
  }
  if (handled_by_kernel(v, c, x, c.exitcode)) return platform::ExitAction::resume;
  RawExit raw{c.exitcode, c.exitinfo1, c.exitinfo2, c.rip, c.next_rip, g_caps.nrip_save, c.rax, v->gpr[kGprRcx], c.cr2};
  // Guest code bytes are needed only where neither the CPU (NRIP save, IN/OUT)
  // nor the exit code alone gives the instruction's length.
  uint8_t insn[15];
  size_t n = 0;
  if (!g_caps.nrip_save && opcode_for(code).length != 0) {
    GuestPhys mem{v->vm->root, v->vm->unmaps, x.npt_cache};
    n = read_guest_code(mem, c, insn, sizeof(insn));
  }
  fix_wbinvd_alias(raw, insn, n, long_mode(c));
  decode(raw, exit);
  exit.instruction_length = instruction_length(raw, insn, n, long_mode(c));
  exit.during_delivery = (c.exitintinfo & Event::valid) ? 1 : 0;
  return platform::ExitAction::forward;
}

}  // namespace cos::svm
