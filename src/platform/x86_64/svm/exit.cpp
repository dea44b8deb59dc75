// Entering the guest, event injection and #VMEXIT decoding (AMD APM Vol. 2,
// 15.5 "VMRUN Instruction", 15.6 "#VMEXIT", 15.20 "Event Injection",
// 15.21 "Interrupt and LDTR/TR Intercepts" and appendix C).
#include "x86_64/svm/decode.hpp"
#include "x86_64/svm/guest_memory.hpp"
#include "x86_64/svm/internal.hpp"
#include "x86_64/layout.hpp"

namespace cos::svm {
namespace {

/// The save area as the VMM loaded it, for an entry that refuses it.
uint8_t g_snapshot[kSaveAreaBytes];

constexpr unsigned kGprRcx = 1;

uint8_t* save_area(Vmcb& c) { return reinterpret_cast<uint8_t*>(&c) + kSaveAreaOffset; }
bool long_mode(const Vmcb& c) { return (c.efer & Efer::lma) && (c.cs.attr & SegAttr::l); }

uint64_t eventinj(const PendingEvent& e) {
  return e.vector | (static_cast<uint64_t>(e.type) << Event::type_shift) |
         (e.has_error_code ? Event::error_valid : 0) | Event::valid | (static_cast<uint64_t>(e.error_code) << 32);
}

/// Chooses what to inject at this entry; requests an interrupt window for an
/// external interrupt the guest cannot take yet (a virtual interrupt with the
/// highest priority exits with VINTR as soon as the guest could take it,
/// APM 15.21.4).
void prepare_injection(Vcpu* v, Vmcb& c) {
  c.intercept3 &= ~Intercept3::vintr;
  c.vintr &= ~Vintr::v_irq;
  if (c.eventinj & Event::valid) return;  // re-injecting an interrupted delivery
  if (v->pending_exc.valid) {
    c.eventinj = eventinj(v->pending_exc);
    v->pending_exc.valid = false;
    return;
  }
  const bool interruptible = (c.rflags & Rflags::if_) && !(c.interrupt_shadow & Shadow::interrupt_shadow);
  if (v->pending_irq.valid && interruptible) {
    c.eventinj = eventinj(v->pending_irq);
    v->pending_irq.valid = false;
    return;
  }
  if (v->pending_irq.valid || v->window_requested_by_vmm) {
    c.vintr |= Vintr::v_irq | (0xfull << Vintr::v_intr_prio_shift) | Vintr::v_ign_tpr;
    c.intercept3 |= Intercept3::vintr;
  }
}

}  // namespace

platform::ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit) {
  Vmcb& c = vmcb(v);
  VcpuState& x = vcpu_state(v);
  prepare_tlb(v->vm, c);
  prepare_injection(v, c);
  c.clean_bits = 0;
  const bool snapshot = x.snapshot_due;
  if (snapshot) __builtin_memcpy(g_snapshot, save_area(c), sizeof(g_snapshot));

  svm_run(v->control_pa, v->gpr, g_caps.host_vmsave_pa);

  if (is_invalid_exit(c.exitcode)) {
    // The refused state goes back to what the VMM loaded (the hardware may
    // have written host values into the save area).
    if (snapshot) __builtin_memcpy(save_area(c), g_snapshot, sizeof(g_snapshot));
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
  RawExit raw{c.exitcode, c.exitinfo1, c.exitinfo2, c.rip, c.next_rip, g_caps.nrip_save, c.rax, v->gpr[kGprRcx], c.cr2};
  // Guest code bytes are needed only where neither the CPU (NRIP save, IN/OUT)
  // nor the exit code alone gives the instruction's length.
  uint8_t insn[15];
  size_t n = 0;
  if (!g_caps.nrip_save && opcode_for(code).length != 0) n = read_guest_code(v->vm->root, c, insn, sizeof(insn));
  fix_wbinvd_alias(raw, insn, n, long_mode(c));
  decode(raw, exit);
  exit.instruction_length = instruction_length(raw, insn, n, long_mode(c));
  return platform::ExitAction::forward;
}

}  // namespace cos::svm
