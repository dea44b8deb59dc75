// VMCS set-up and the vCPU state page <-> VMCS transfer (Intel SDM Vol. 3C,
// chapter 25 "Virtual Machine Control Structures" and 27.3 "Checking and
// Loading Guest State").
#include <stddef.h>

#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/vmx/decode.hpp"
#include "x86_64/vmx/ept.hpp"
#include "x86_64/vmx/internal.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/regs.hpp"
#include "x86_64/vmx/vmx.hpp"

namespace cos::vmx {
namespace {

static_assert(sizeof(vm::Regs) == 18 * sizeof(uint64_t) && offsetof(vm::Regs, rax) == 0 &&
                  offsetof(vm::Regs, r15) == 15 * 8 && offsetof(vm::Regs, rip) == 16 * 8,
              "vm::Regs must start with the 16 GPRs in hardware encoding order");

constexpr uint64_t kDefaultPat = 0x0007040600070406ull;

struct __attribute__((packed)) DtPointer {
  uint16_t limit;
  uint64_t base;
};

/// The base of the TSS the host runs on, read from its GDT descriptor.
uint64_t host_tr_base(const DtPointer& gdt) {
  uint16_t tr;
  asm volatile("str %0" : "=r"(tr));
  const auto* d = reinterpret_cast<const uint32_t*>(gdt.base + (tr & ~7u));
  return ((d[0] >> 16) & 0xffff) | (static_cast<uint64_t>(d[1] & 0xff) << 16) |
         (static_cast<uint64_t>(d[1] & 0xff000000) ) | (static_cast<uint64_t>(d[2]) << 32);
}

/// Counts failed vmwrites during a multi-field update (a bug if ever > 0).
struct Writer {
  unsigned failures = 0;
  void operator()(Vmcs f, uint64_t v) {
    if (!vmwrite(f, v)) ++failures;
  }
};

unsigned g_reports;
/// Says why a VMM's state was refused (rate-limited: a VMM can repeat it).
void report(Vcpu* v, const char* why) {
  if (g_reports >= 16) return;
  ++g_reports;
  kprintf("cos: vmx: vCPU %u: bad guest state: %s%s\n", v->id, why, g_reports == 16 ? " (further reports suppressed)" : "");
}

void write_segment(Writer& w, Seg s, const SegmentState& r) {
  w(seg_sel(s), r.sel);
  w(seg_base(s), r.base);
  w(seg_limit(s), r.limit);
  w(seg_ar(s), r.ar);
}

void write_guest_state(Writer& w, const GuestState& g) {
  w(Vmcs::guest_cr0, g.cr0);
  w(Vmcs::guest_cr3, g.cr3);
  w(Vmcs::guest_cr4, g.cr4);
  w(Vmcs::guest_dr7, g.dr7);
  w(Vmcs::guest_efer, g.efer);
  w(Vmcs::guest_rsp, g.rsp);
  w(Vmcs::guest_rip, g.rip);
  w(Vmcs::guest_rflags, g.rflags);
  for (unsigned i = 0; i < kSegCount; ++i) write_segment(w, Seg(i), g.seg[i]);
  w(Vmcs::guest_gdtr_base, g.gdtr_base);
  w(Vmcs::guest_gdtr_limit, g.gdtr_limit);
  w(Vmcs::guest_idtr_base, g.idtr_base);
  w(Vmcs::guest_idtr_limit, g.idtr_limit);
  w(Vmcs::guest_sysenter_cs, g.sysenter_cs);
  w(Vmcs::guest_sysenter_esp, g.sysenter_esp);
  w(Vmcs::guest_sysenter_eip, g.sysenter_eip);
  w(Vmcs::guest_interruptibility, g.interruptibility);
  uint64_t entry = vmread(Vmcs::entry_controls);
  entry = g.ia32e ? (entry | EntryCtl::ia32e_mode_guest) : (entry & ~uint64_t(EntryCtl::ia32e_mode_guest));
  w(Vmcs::entry_controls, entry);
}

}  // namespace

uint64_t cr0_mask(uint32_t intercept_flags) {
  return (intercept_flags & vm::Intercept::cr_writes) ? ~0ull : cr0_host_owned(g_caps.limits);
}
uint64_t cr4_mask(uint32_t intercept_flags) {
  return (intercept_flags & vm::Intercept::cr_writes) ? ~0ull : g_caps.limits.cr4_fixed0 | x86::kHostOwnedCr4;
}

void read_guest_state(GuestState& g) {
  g.cr0 = vmread(Vmcs::guest_cr0);
  g.cr3 = vmread(Vmcs::guest_cr3);
  g.cr4 = vmread(Vmcs::guest_cr4);
  g.dr7 = vmread(Vmcs::guest_dr7);
  g.efer = vmread(Vmcs::guest_efer);
  g.rsp = vmread(Vmcs::guest_rsp);
  g.rip = vmread(Vmcs::guest_rip);
  g.rflags = vmread(Vmcs::guest_rflags);
  for (unsigned i = 0; i < kSegCount; ++i) {
    SegmentState& r = g.seg[i];
    r.sel = static_cast<uint16_t>(vmread(seg_sel(Seg(i))));
    r.base = vmread(seg_base(Seg(i)));
    r.limit = static_cast<uint32_t>(vmread(seg_limit(Seg(i))));
    r.ar = static_cast<uint32_t>(vmread(seg_ar(Seg(i))));
  }
  g.gdtr_base = vmread(Vmcs::guest_gdtr_base);
  g.gdtr_limit = static_cast<uint32_t>(vmread(Vmcs::guest_gdtr_limit));
  g.idtr_base = vmread(Vmcs::guest_idtr_base);
  g.idtr_limit = static_cast<uint32_t>(vmread(Vmcs::guest_idtr_limit));
  g.sysenter_cs = static_cast<uint32_t>(vmread(Vmcs::guest_sysenter_cs));
  g.sysenter_esp = vmread(Vmcs::guest_sysenter_esp);
  g.sysenter_eip = vmread(Vmcs::guest_sysenter_eip);
  g.interruptibility = static_cast<uint32_t>(vmread(Vmcs::guest_interruptibility));
  g.ia32e = vmread(Vmcs::entry_controls) & EntryCtl::ia32e_mode_guest;
}

bool load_pdptes(Vm* vm, uint64_t cr3) {
  uint64_t pdpte[4];
  if (!read_guest_phys(vm, cr3 & 0xffffffe0ull, pdpte, sizeof(pdpte))) return false;
  if (!pdptes_valid(pdpte, g_caps.limits.phys_bits)) return false;
  vmwrite(Vmcs::guest_pdpte0, pdpte[0]);
  vmwrite(Vmcs::guest_pdpte1, pdpte[1]);
  vmwrite(Vmcs::guest_pdpte2, pdpte[2]);
  vmwrite(Vmcs::guest_pdpte3, pdpte[3]);
  return true;
}

bool write_host_tables() {
  DtPointer gdt, idt;
  asm volatile("sgdt %0" : "=m"(gdt));
  asm volatile("sidt %0" : "=m"(idt));
  return vmwrite(Vmcs::host_tr_base, host_tr_base(gdt)) && vmwrite(Vmcs::host_gdtr_base, gdt.base) &&
         vmwrite(Vmcs::host_idtr_base, idt.base);
}

abi::Error vcpu_init(Vcpu* v) {
  VcpuState* x = &vcpu_state(v);
  *x = VcpuState{};
  *x86::phys_to_virt<uint32_t>(v->control_pa) = g_caps.revision;
  if (!vmclear(v->control_pa)) return abi::Error::no_virtualization;
  make_current(v);

  Writer w;
  // Controls.
  x->cpu1 = g_caps.cpu1;
  x->dr6 = x86::kDr6Reset;
  w(Vmcs::pin_controls, g_caps.pin);
  w(Vmcs::cpu_controls, x->cpu1);
  w(Vmcs::cpu_controls2, g_caps.cpu2);
  w(Vmcs::exit_controls, g_caps.exit);
  w(Vmcs::entry_controls, g_caps.entry);
  w(Vmcs::exception_bitmap, kForcedExceptions);
  w(Vmcs::pf_error_code_mask, 0);
  w(Vmcs::pf_error_code_match, 0);
  w(Vmcs::cr3_target_count, 0);
  w(Vmcs::msr_bitmap, g_caps.msr_bitmap_pa);
  w(Vmcs::exit_msr_store_count, 0);
  w(Vmcs::exit_msr_load_count, 0);
  w(Vmcs::entry_msr_load_count, 0);
  w(Vmcs::entry_intr_info, 0);
  w(Vmcs::vpid, v->vm->tag);
  w(Vmcs::ept_pointer, ept::eptp(v->vm->root));
  w(Vmcs::vmcs_link_pointer, ~0ull);
  w(Vmcs::cr0_guest_host_mask, cr0_mask(0));
  w(Vmcs::cr4_guest_host_mask, cr4_mask(0));

  // Host state: the kernel as it runs now; CR3, FS/GS bases and RSP are
  // refreshed before every entry (vcpu_enter, entry.S).
  w(Vmcs::host_cr0, x86::read_cr0());
  w(Vmcs::host_cr3, x86::read_cr3());
  w(Vmcs::host_cr4, x86::read_cr4());
  w(Vmcs::host_cs_sel, x86::kKernelCs);
  w(Vmcs::host_ss_sel, x86::kKernelDs);
  w(Vmcs::host_ds_sel, x86::kKernelDs);
  w(Vmcs::host_es_sel, x86::kKernelDs);
  w(Vmcs::host_fs_sel, 0);
  w(Vmcs::host_gs_sel, 0);
  w(Vmcs::host_tr_sel, x86::kTssSel);
  w(Vmcs::host_fs_base, x86::rdmsr(x86::Msr::fs_base));
  w(Vmcs::host_gs_base, x86::rdmsr(x86::Msr::gs_base));
  if (!write_host_tables()) ++w.failures;
  w(Vmcs::host_sysenter_cs, x86::rdmsr(x86::Msr::sysenter_cs));
  w(Vmcs::host_sysenter_esp, x86::rdmsr(x86::Msr::sysenter_esp));
  w(Vmcs::host_sysenter_eip, x86::rdmsr(x86::Msr::sysenter_eip));
  w(Vmcs::host_efer, x86::rdmsr(x86::Msr::efer));
  if (g_caps.exit & ExitCtl::load_pat) w(Vmcs::host_pat, x86::rdmsr(x86::Msr::pat));
  w(Vmcs::host_rip, reinterpret_cast<uint64_t>(&vmx_exit_stub));

  // Guest state: reset.
  GuestState g = reset_guest_state(g_caps.limits);
  write_guest_state(w, g);
  w(Vmcs::cr0_read_shadow, kResetCr0);
  w(Vmcs::cr4_read_shadow, 0);
  w(Vmcs::guest_activity_state, 0);
  w(Vmcs::guest_pending_debug, 0);
  w(Vmcs::guest_debugctl, 0);
  if (g_caps.entry & EntryCtl::load_pat) w(Vmcs::guest_pat, kDefaultPat);
  if (g_caps.preemption_ticks) w(Vmcs::guest_preemption_timer, g_caps.preemption_ticks);
  for (auto& r : v->gpr) r = 0;

  if (w.failures) {
    kprintf("cos: vmx: vCPU %u: %u VMCS fields could not be written\n", v->id, w.failures);
    vcpu_destroy(v);
    return abi::Error::no_virtualization;
  }
  return abi::Error::ok;
}

void vcpu_destroy(Vcpu* v) { release_vmcs(v); }

abi::Error vcpu_load(Vcpu* v, const vm::StatePage& s, uint64_t mask) {
  make_current(v);
  VcpuState& x = vcpu_state(v);
  const GuestLimits& l = g_caps.limits;

  GuestState g;
  read_guest_state(g);
  const uint32_t flags = (mask & vm::Load::intercepts) ? s.intercept_flags : x.intercept_flags;
  uint64_t cr0 = visible_cr(g.cr0, vmread(Vmcs::cr0_read_shadow), cr0_mask(x.intercept_flags));
  uint64_t cr4 = visible_cr(g.cr4, vmread(Vmcs::cr4_read_shadow), cr4_mask(x.intercept_flags));
  const GuestState before = g;
  if (const char* why = overlay_state(g, cr0, cr4, s, mask, l)) {
    report(v, why);
    return abi::Error::bad_guest_state;
  }
  PendingEvent ev{};
  if (mask & vm::Load::inject) {
    ev = PendingEvent{true, static_cast<uint8_t>(s.inject.vector), s.inject.type, s.inject.has_error_code != 0,
                      s.inject.error_code};
    if (s.inject.vector > 255 || !entry_intr_info(s.inject.vector, s.inject.type, true)) {
      report(v, "injected event has a bad vector or type");
      return abi::Error::bad_guest_state;
    }
  }

  if ((mask & vm::Load::cr) && uses_pae_pdptes(g) && !load_pdptes(v->vm, g.cr3)) {
    report(v, "PAE PDPTEs unreadable or invalid");
    return abi::Error::bad_guest_state;
  }

  // Everything checked: commit.
  Writer w;
  write_guest_state(w, g);
  w(Vmcs::cr0_read_shadow, cr0);
  w(Vmcs::cr4_read_shadow, cr4);
  if (mask & vm::Load::regs) {
    // gpr[4] (RSP) goes along unused: RSP lives in the VMCS.
    __builtin_memcpy(v->gpr, &s.regs.rax, sizeof(v->gpr));
  }
  if (mask & vm::Load::cr) x.cr2 = s.cr2;
  if (mask & vm::Load::syscall_msrs) {
    x.star = s.star;
    x.lstar = s.lstar;
    x.cstar = s.cstar;
    x.sfmask = s.sfmask;
    x.kernel_gs_base = s.kernel_gs_base;
  }
  if (mask & vm::Load::intercepts) {
    x.vmm_exceptions = s.exception_bitmap;
    x.intercept_flags = s.intercept_flags;
    w(Vmcs::exception_bitmap, s.exception_bitmap | kForcedExceptions);
    uint32_t dyn = Cpu1::rdtsc_exiting | Cpu1::pause_exiting | Cpu1::cr3_load_exiting;
    uint32_t want = ((flags & vm::Intercept::rdtsc) ? Cpu1::rdtsc_exiting : 0) |
                    ((flags & vm::Intercept::pause) ? Cpu1::pause_exiting : 0) |
                    ((flags & vm::Intercept::cr_writes) ? Cpu1::cr3_load_exiting : 0);
    x.cpu1 = (x.cpu1 & ~dyn) | ((want | g_caps.cpu1_allowed0) & g_caps.cpu1_allowed1 & dyn);
    w(Vmcs::cpu_controls, x.cpu1);
    w(Vmcs::cr0_guest_host_mask, cr0_mask(flags));
    w(Vmcs::cr4_guest_host_mask, cr4_mask(flags));
  }
  // VM entry does not flush the VPID's TLB as the MOV to CR3/CR0/CR4 the
  // VMM emulated would have.
  if (before.cr3 != g.cr3 || before.cr0 != g.cr0 || before.cr4 != g.cr4 || before.efer != g.efer) flush_vpid(v->vm);
  // Like vcpu_inject's exceptions, but any type: an external interrupt
  // queued here still waits until the guest can take it.
  if (ev.valid) v->pending_exc = ev;
  if (w.failures) kprintf("cos: vmx: vCPU %u: %u VMCS fields could not be written\n", v->id, w.failures);
  return abi::Error::ok;
}

void vcpu_save(Vcpu* v, vm::StatePage& s, uint64_t mask) {
  make_current(v);
  VcpuState& x = vcpu_state(v);
  __builtin_memcpy(&s.regs.rax, v->gpr, sizeof(v->gpr));
  s.regs.rsp = vmread(Vmcs::guest_rsp);
  s.regs.rip = vmread(Vmcs::guest_rip);
  s.regs.rflags = vmread(Vmcs::guest_rflags);
  if (mask & vm::Load::cr) {
    s.cr0 = visible_cr(vmread(Vmcs::guest_cr0), vmread(Vmcs::cr0_read_shadow), cr0_mask(x.intercept_flags));
    s.cr2 = x.cr2;
    s.cr3 = vmread(Vmcs::guest_cr3);
    s.cr4 = visible_cr(vmread(Vmcs::guest_cr4), vmread(Vmcs::cr4_read_shadow), cr4_mask(x.intercept_flags));
    s.efer = vmread(Vmcs::guest_efer);
    s.dr7 = vmread(Vmcs::guest_dr7);
  }
  if (mask & vm::Load::segments) {
    vm::Segment* out[kSegCount] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs, &s.ldtr, &s.tr};
    for (unsigned i = 0; i < kSegCount; ++i) {
      SegmentState seg{static_cast<uint16_t>(vmread(seg_sel(Seg(i)))),
                       static_cast<uint32_t>(vmread(seg_limit(Seg(i)))), vmread(seg_base(Seg(i))),
                       static_cast<uint32_t>(vmread(seg_ar(Seg(i))))};
      *out[i] = segment_to_abi(seg);
    }
  }
  if (mask & vm::Load::dtables) {
    s.gdtr = vm::DescriptorTable{vmread(Vmcs::guest_gdtr_base), static_cast<uint32_t>(vmread(Vmcs::guest_gdtr_limit)), 0};
    s.idtr = vm::DescriptorTable{vmread(Vmcs::guest_idtr_base), static_cast<uint32_t>(vmread(Vmcs::guest_idtr_limit)), 0};
  }
  if (mask & vm::Load::syscall_msrs) {
    s.star = x.star;
    s.lstar = x.lstar;
    s.cstar = x.cstar;
    s.sfmask = x.sfmask;
    s.kernel_gs_base = x.kernel_gs_base;
    s.sysenter_cs = vmread(Vmcs::guest_sysenter_cs);
    s.sysenter_esp = vmread(Vmcs::guest_sysenter_esp);
    s.sysenter_eip = vmread(Vmcs::guest_sysenter_eip);
  }
  if (mask & vm::Load::interruptibility) {
    s.interrupt_shadow = (vmread(Vmcs::guest_interruptibility) &
                          (Interruptibility::blocking_by_sti | Interruptibility::blocking_by_mov_ss)) != 0;
  }
}

}  // namespace cos::vmx
