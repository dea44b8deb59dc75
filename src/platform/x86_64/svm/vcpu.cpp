// VMCB set-up and the vCPU state page <-> VMCB transfer (AMD APM Vol. 2,
// 15.5 "VMRUN Instruction", 15.9-15.13 intercepts, appendix B "Layout of
// VMCB").
#include "kernel/console.hpp"
#include "x86_64/svm/guest_state.hpp"
#include "x86_64/svm/internal.hpp"

namespace cos::svm {
namespace {

unsigned g_reports;
/// Says why a VMM's state was refused (rate-limited: a VMM can repeat it).
void report(Vcpu* v, const char* why) {
  if (g_reports >= 16) return;
  ++g_reports;
  kprintf("cos: svm: vCPU %u: bad guest state: %s%s\n", v->id, why, g_reports == 16 ? " (further reports suppressed)" : "");
}

/// The intercepts every VMCB has whatever the VMM asks: host interrupts,
/// the instructions that would reach host state or hardware (I/O, MSRs,
/// CPUID, HLT, INVD/WBINVD, MONITOR/MWAIT, XSETBV, task switches, shutdown)
/// and the SVM instructions themselves.
constexpr uint32_t kIntercept3 = Intercept3::intr | Intercept3::nmi | Intercept3::smi | Intercept3::init |
                                 Intercept3::rdpmc | Intercept3::cpuid | Intercept3::invd | Intercept3::hlt |
                                 Intercept3::invlpga | Intercept3::ioio_prot | Intercept3::msr_prot |
                                 Intercept3::task_switch | Intercept3::shutdown;
constexpr uint32_t kIntercept4 = Intercept4::vmrun | Intercept4::vmmcall | Intercept4::vmload |
                                 Intercept4::vmsave | Intercept4::stgi | Intercept4::clgi | Intercept4::skinit |
                                 Intercept4::wbinvd | Intercept4::monitor | Intercept4::mwait |
                                 Intercept4::xsetbv | Intercept4::rdpru;
/// DR0-DR3 reads and writes (x86_64/guest_policy.hpp): until the guest's first.
constexpr uint32_t kDrIntercepts = 0x000f000f;

/// CR intercepts the kernel keeps for itself: CR4 writes where the CPU
/// would let a guest set CR4.PKE (x86_64/guest_policy.hpp; emulated in
/// exit.cpp unless the VMM intercepts CR writes itself).
uint32_t kernel_cr_intercepts() { return g_caps.cr4_write_intercept ? cr_write(4) : 0; }

void set_intercepts(Vmcb& c, uint32_t exceptions, uint32_t flags) {
  c.intercept_exceptions = exceptions | x86::kForcedExceptions;
  c.intercept3 = (c.intercept3 & ~(Intercept3::rdtsc | Intercept3::pause)) |
                 ((flags & vm::Intercept::rdtsc) ? Intercept3::rdtsc : 0) |
                 ((flags & vm::Intercept::pause) ? Intercept3::pause : 0);
  c.intercept4 = (c.intercept4 & ~Intercept4::rdtscp) | ((flags & vm::Intercept::rdtsc) ? Intercept4::rdtscp : 0);
  c.intercept_cr = (flags & vm::Intercept::cr_writes) ? (cr_write(0) | cr_write(3) | cr_write(4)) : kernel_cr_intercepts();
}

}  // namespace

abi::Error vcpu_init(Vcpu* v) {
  Vmcb& c = vmcb(v);
  c = Vmcb{};
  vcpu_state(v) = VcpuState{};
  c.intercept3 = kIntercept3;
  c.intercept4 = kIntercept4;
  c.intercept_exceptions = x86::kForcedExceptions;
  c.intercept_dr = kDrIntercepts;
  c.intercept_cr = kernel_cr_intercepts();
  c.iopm_base_pa = g_caps.iopm_pa;
  c.msrpm_base_pa = g_caps.msrpm_pa;
  c.guest_asid = v->vm->tag;
  c.vintr = Vintr::v_intr_masking;  // the guest's IF masks only virtual interrupts
  c.np_enable = 1;
  c.n_cr3 = v->vm->root;
  reset_guest_state(c);
  return abi::Error::ok;
}

void vcpu_destroy(Vcpu*) {}

abi::Error vcpu_load(Vcpu* v, const vm::StatePage& s, uint64_t mask) {
  Vmcb& c = vmcb(v);
  VcpuState& x = vcpu_state(v);
  if (mask & (vm::Load::cr | vm::Load::segments)) {
    CrState cr = (mask & vm::Load::cr) ? CrState{s.cr0, s.cr3, s.cr4, s.efer, s.dr7, 0}
                                       : CrState{c.cr0, c.cr3, c.cr4, c.efer, c.dr7, 0};
    cr.cs_attr = (mask & vm::Load::segments) ? s.cs.attr : c.cs.attr;
    if (const char* why = check_guest_state(cr, g_caps.limits)) {
      report(v, why);
      return abi::Error::bad_guest_state;
    }
  }
  if (const char* why = check_segment_bases(s, mask)) {
    report(v, why);
    return abi::Error::bad_guest_state;
  }
  if ((mask & vm::Load::segments) && !tr_attr_valid(s.tr.attr)) {
    report(v, "TR is not a present TSS");
    return abi::Error::bad_guest_state;
  }
  const uint64_t rip_before = c.rip;
  if (mask & vm::Load::regs) {
    const vm::Regs& r = s.regs;
    c.rax = r.rax;
    c.rsp = r.rsp;
    c.rip = r.rip;
    c.rflags = rflags_for_entry(r.rflags);
    static_assert(sizeof(v->gpr) == 16 * sizeof(uint64_t) && offsetof(vm::Regs, r15) == 15 * sizeof(uint64_t));
    __builtin_memcpy(v->gpr, &r.rax, sizeof(v->gpr));
  }
  if (mask & vm::Load::cr) {
    c.cr0 = s.cr0;
    c.cr2 = s.cr2;
    c.cr3 = s.cr3;
    c.cr4 = s.cr4;
    c.efer = s.efer | Efer::svme;
    c.dr7 = s.dr7;
  }
  if (mask & vm::Load::segments) {
    c.es = s.es, c.cs = s.cs, c.ss = s.ss, c.ds = s.ds, c.fs = s.fs, c.gs = s.gs, c.tr = s.tr, c.ldtr = s.ldtr;
    c.tr.attr = tr_attr_to_vmcb(s.tr.attr);
  }
  if (mask & (vm::Load::segments | vm::Load::cr)) c.cpl = cpl_for(c);
  if (mask & vm::Load::dtables) {
    c.gdtr = vm::Segment{0, 0, s.gdtr.limit, s.gdtr.base};
    c.idtr = vm::Segment{0, 0, s.idtr.limit, s.idtr.base};
  }
  if (mask & vm::Load::syscall_msrs) {
    c.star = s.star, c.lstar = s.lstar, c.cstar = s.cstar, c.sfmask = s.sfmask;
    c.kernel_gs_base = s.kernel_gs_base, c.sysenter_cs = s.sysenter_cs, c.sysenter_esp = s.sysenter_esp,
    c.sysenter_eip = s.sysenter_eip;
  }
  if (mask & vm::Load::intercepts) {
    x.vmm_exceptions = s.exception_bitmap;
    x.intercept_flags = s.intercept_flags;
    set_intercepts(c, x.vmm_exceptions, x.intercept_flags);
  }
  if (mask & vm::Load::interruptibility) c.interrupt_shadow = s.interrupt_shadow & Shadow::interrupt_shadow;
  else if ((mask & vm::Load::regs) && c.rip != rip_before) c.interrupt_shadow = 0;  // a skipped instruction ends STI/MOV-SS blocking
  // Registers alone cannot make VMRUN refuse the state (RFLAGS is
  // sanitised above): only other groups need the copy to restore.
  if (mask & ~vm::Load::regs) x.snapshot_due = true;
  return abi::Error::ok;
}

void vcpu_save(Vcpu* v, vm::StatePage& s, uint64_t mask) {
  const Vmcb& c = vmcb(v);
  __builtin_memcpy(&s.regs.rax, v->gpr, sizeof(v->gpr));
  s.regs.rax = c.rax;
  s.regs.rsp = c.rsp;
  s.regs.rip = c.rip;
  s.regs.rflags = c.rflags;
  if (mask & vm::Load::cr) {
    s.cr0 = c.cr0, s.cr2 = c.cr2, s.cr3 = c.cr3, s.cr4 = c.cr4, s.efer = c.efer & ~Efer::svme, s.dr7 = c.dr7;
  }
  if (mask & vm::Load::segments) {
    s.es = c.es, s.cs = c.cs, s.ss = c.ss, s.ds = c.ds, s.fs = c.fs, s.gs = c.gs, s.tr = c.tr, s.ldtr = c.ldtr;
    s.tr.attr = tr_attr_from_vmcb(c.tr.attr);
  }
  if (mask & vm::Load::dtables) {
    s.gdtr = vm::DescriptorTable{c.gdtr.base, c.gdtr.limit, 0};
    s.idtr = vm::DescriptorTable{c.idtr.base, c.idtr.limit, 0};
  }
  if (mask & vm::Load::syscall_msrs) {
    s.star = c.star, s.lstar = c.lstar, s.cstar = c.cstar, s.sfmask = c.sfmask;
    s.kernel_gs_base = c.kernel_gs_base, s.sysenter_cs = c.sysenter_cs, s.sysenter_esp = c.sysenter_esp,
    s.sysenter_eip = c.sysenter_eip;
  }
  if (mask & vm::Load::interruptibility) s.interrupt_shadow = static_cast<uint32_t>(c.interrupt_shadow & Shadow::interrupt_shadow);
}

}  // namespace cos::svm
