// AMD SVM backend: detection, ASIDs, the VMCB of each vCPU, guest state
// transfer and the VMRUN loop step (AMD APM Vol. 2, chapter 15).
#include "x86_64/svm/svm.hpp"

#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "fmt/format.hpp"
#include "kernel/kernel.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/machine.hpp"
#include "x86_64/svm/decode.hpp"
#include "x86_64/svm/guest_memory.hpp"
#include "x86_64/svm/npt.hpp"
#include "x86_64/svm/vmcb.hpp"

extern "C" void svm_run(uint64_t vmcb_pa, uint64_t* gpr, uint64_t host_save_pa);

namespace cos::svm {
namespace {

constexpr uint32_t kMsrVmCr = 0xc0010114;       // VM_CR: bit 4 SVMDIS
constexpr uint32_t kMsrVmHsavePa = 0xc0010117;  // host save area
constexpr uint64_t kEferSvme = 1ull << 12;
constexpr uint64_t kEferLme = 1ull << 8, kEferLma = 1ull << 10;
constexpr uint64_t kEferKnown = (1ull << 0) | kEferLme | kEferLma | (1ull << 11) | kEferSvme | (1ull << 13) |
                                (1ull << 14) | (1ull << 15);
constexpr uint64_t kCr0Pe = 1, kCr0Nw = 1ull << 29, kCr0Cd = 1ull << 30, kCr0Pg = 1ull << 31;
constexpr uint64_t kCr4Pae = 1ull << 5;
constexpr uint64_t kCr4Known = 0x3f7fffull;  // architectural CR4 bits through PKE/CET range we accept
constexpr uint64_t kRflagsIf = 1ull << 9;

alignas(4096) uint8_t g_host_save_area[4096];  // VM_HSAVE_PA
alignas(4096) uint8_t g_host_vmsave[4096];     // VMSAVE/VMLOAD of host state
alignas(4096) uint8_t g_iopm[3 * 4096];        // every port intercepted
alignas(4096) uint8_t g_msrpm[2 * 4096];       // every MSR intercepted

uint32_t g_asids;        // ASIDs the CPU offers (ASID 0 is the host's)
uint32_t g_next_asid = 1;
bool g_nrip_save;
const Vm* g_asid_owner[256];  // last VM that ran on each ASID (flush when it changes)
// The guest state as loaded, kept across VMRUN: a refused entry (VMEXIT_INVALID)
// may leave host values in the VMCB's save area, which must not reach the VMM.
uint8_t g_save_area_copy[sizeof(Vmcb) - 0x400];

Vmcb* vmcb(Vcpu* v) { return static_cast<Vmcb*>(machine::phys_to_kernel(v->control_pa)); }

uint64_t kphys(const void* p) { return x86::virt_to_phys(p); }

bool long_mode(const Vmcb& c) { return (c.efer & kEferLma) && (c.cs.attr & (1u << 9)); }

void reset_state(Vmcb& c) {
  auto seg = [](vm::Segment& s, uint16_t sel, uint64_t base, uint16_t attr) {
    s = vm::Segment{sel, attr, 0xffff, base};
  };
  seg(c.cs, 0xf000, 0xffff0000, 0x9b);
  seg(c.ds, 0, 0, 0x93);
  seg(c.es, 0, 0, 0x93);
  seg(c.ss, 0, 0, 0x93);
  seg(c.fs, 0, 0, 0x93);
  seg(c.gs, 0, 0, 0x93);
  seg(c.ldtr, 0, 0, 0x82);
  seg(c.tr, 0, 0, 0x8b);
  c.gdtr = vm::Segment{0, 0, 0xffff, 0};
  c.idtr = vm::Segment{0, 0, 0xffff, 0};
  c.rip = 0xfff0;
  c.rflags = 2;
  c.cr0 = 0x10;  // ET
  c.efer = kEferSvme;
  c.dr6 = 0xffff0ff0;
  c.dr7 = 0x400;
  c.g_pat = 0x0007040600070406ull;
}

// Validates what VMRUN would reject (APM 15.5.1 "consistency checks").
abi::Error check_cr(const vm::StatePage& s, const vm::Segment& cs) {
  uint64_t efer = s.efer | kEferSvme;
  if ((s.cr0 >> 32) != 0 || ((s.cr0 & kCr0Nw) && !(s.cr0 & kCr0Cd))) return abi::Error::bad_guest_state;
  if ((s.cr3 >> 52) != 0 || (s.cr4 & ~kCr4Known) || (s.dr7 >> 32) != 0) return abi::Error::bad_guest_state;
  if (efer & ~kEferKnown) return abi::Error::bad_guest_state;
  if ((efer & kEferLme) && (s.cr0 & kCr0Pg)) {
    if (!(s.cr4 & kCr4Pae) || !(s.cr0 & kCr0Pe)) return abi::Error::bad_guest_state;
    if ((cs.attr & (1u << 9)) && (cs.attr & (1u << 10))) return abi::Error::bad_guest_state;
  }
  return abi::Error::ok;
}

bool valid_event(const PendingEvent& e) {
  if (!e.valid) return false;
  if (e.type == vm::EventType::exception) return e.vector < 32 && e.vector != 2;
  if (e.type == vm::EventType::nmi) return e.vector == 2;
  return true;
}

uint64_t eventinj(const PendingEvent& e) {
  return e.vector | (static_cast<uint64_t>(e.type) << Event::type_shift) |
         (e.has_error_code ? Event::error_valid : 0) | Event::valid |
         (static_cast<uint64_t>(e.error_code) << 32);
}

// Chooses what to inject at this entry; requests an interrupt window for an
// external interrupt the guest cannot take yet.
void prepare_injection(Vcpu* v, Vmcb& c) {
  c.intercept3 &= ~Intercept3::vintr;
  c.vintr &= ~(1ull << 8);  // V_IRQ
  if (c.eventinj & Event::valid) return;  // re-injecting an interrupted delivery
  if (v->pending_exc.valid) {
    c.eventinj = eventinj(v->pending_exc);
    v->pending_exc.valid = false;
    return;
  }
  bool interruptible = (c.rflags & kRflagsIf) && !(c.interrupt_shadow & 1);
  if (v->pending_irq.valid && interruptible) {
    c.eventinj = eventinj(v->pending_irq);
    v->pending_irq.valid = false;
    return;
  }
  if (v->pending_irq.valid || v->window_requested_by_vmm) {
    // A virtual interrupt with the highest priority exits (VINTR) as soon as
    // the guest could take it (APM 15.21.4).
    c.vintr |= (1ull << 8) | (0xfull << 16) | (1ull << 20);
    c.intercept3 |= Intercept3::vintr;
  }
}

}  // namespace

bool init(const char*& why, char* summary, size_t summary_size) {
  uint32_t a, b, c, d;
  x86::cpuid(0x80000001, 0, a, b, c, d);
  if (!(c & (1u << 2))) {
    why = "AMD CPU without SVM";
    return false;
  }
  if (x86::rdmsr(kMsrVmCr) & (1u << 4)) {
    why = "SVM disabled by the firmware (VM_CR.SVMDIS)";
    return false;
  }
  x86::cpuid(0x8000000a, 0, a, b, c, d);
  if (!(d & 1)) {
    why = "SVM without nested paging (NPT)";
    return false;
  }
  g_asids = b < 256 ? b : 256;
  g_nrip_save = (d & (1u << 3)) != 0;
  x86::wrmsr(x86::kMsrEfer, x86::rdmsr(x86::kMsrEfer) | kEferSvme);
  x86::wrmsr(kMsrVmHsavePa, kphys(g_host_save_area));
  for (auto& byte : g_iopm) byte = 0xff;
  for (auto& byte : g_msrpm) byte = 0xff;
  fmt::snformat(summary, summary_size, "AMD SVM (NPT, %u ASIDs%s)", g_asids,
                g_nrip_save ? ", NRIP save" : ", no NRIP save: instruction lengths decoded by the kernel");
  return true;
}

abi::Error vm_init(Vm* vm) {
  // ASIDs are handed out round robin; sharing one forces a TLB flush when
  // the owner changes (QEMU has 16 and no flush-by-ASID).
  vm->tag = g_next_asid;
  g_next_asid = g_next_asid + 1 < g_asids ? g_next_asid + 1 : 1;
  return abi::Error::ok;
}

void vm_destroy(Vm* vm) {
  if (vm->tag < 256 && g_asid_owner[vm->tag] == vm) g_asid_owner[vm->tag] = nullptr;
}

uint64_t gpt_table_entry(uint64_t table_pa) { return npt::table_entry(table_pa); }
uint64_t gpt_leaf_entry(uint64_t hpa, uint64_t rights) { return npt::leaf_entry(hpa, rights); }
bool gpt_present(uint64_t e) { return npt::present(e); }

abi::Error vcpu_init(Vcpu* v) {
  Vmcb& c = *vmcb(v);
  c = Vmcb{};
  c.intercept3 = Intercept3::intr | Intercept3::nmi | Intercept3::smi | Intercept3::init | Intercept3::cpuid |
                 Intercept3::invd | Intercept3::hlt | Intercept3::invlpga | Intercept3::ioio_prot |
                 Intercept3::msr_prot | Intercept3::task_switch | Intercept3::shutdown;
  c.intercept4 = Intercept4::vmrun | Intercept4::vmmcall | Intercept4::vmload | Intercept4::vmsave |
                 Intercept4::stgi | Intercept4::clgi | Intercept4::skinit | Intercept4::wbinvd |
                 Intercept4::monitor | Intercept4::mwait | Intercept4::xsetbv;
  c.iopm_base_pa = kphys(g_iopm);
  c.msrpm_base_pa = kphys(g_msrpm);
  c.guest_asid = v->vm->tag;
  c.vintr = 1ull << 24;  // V_INTR_MASKING: the guest's IF masks only virtual interrupts
  c.np_enable = 1;
  c.n_cr3 = v->vm->root;
  reset_state(c);
  return abi::Error::ok;
}

void vcpu_destroy(Vcpu*) {}

abi::Error vcpu_load(Vcpu* v, const vm::StatePage& s, uint64_t mask) {
  Vmcb& c = *vmcb(v);
  const vm::Segment& cs = (mask & vm::Load::segments) ? s.cs : c.cs;
  if (mask & vm::Load::cr) {
    if (check_cr(s, cs) != abi::Error::ok) return abi::Error::bad_guest_state;
  } else if (mask & vm::Load::segments) {
    vm::StatePage cur{};
    cur.cr0 = c.cr0, cur.cr3 = c.cr3, cur.cr4 = c.cr4, cur.efer = c.efer, cur.dr7 = c.dr7;
    if (check_cr(cur, cs) != abi::Error::ok) return abi::Error::bad_guest_state;
  }
  uint64_t rip_before = c.rip;
  PendingEvent inj{};
  if (mask & vm::Load::inject) {
    inj = PendingEvent{true, static_cast<uint8_t>(s.inject.vector), s.inject.type, s.inject.has_error_code != 0,
                       s.inject.error_code};
    if (s.inject.vector > 255 || !valid_event(inj)) return abi::Error::bad_guest_state;
  }
  if (mask & vm::Load::regs) {
    const vm::Regs& r = s.regs;
    c.rax = r.rax;
    c.rsp = r.rsp;
    c.rip = r.rip;
    c.rflags = (r.rflags & 0x3f7fd7ull) | 2;  // reserved bits as hardware keeps them
    const uint64_t* g = &r.rax;
    for (unsigned i = 0; i < 16; ++i) v->gpr[i] = g[i];
  }
  if (mask & vm::Load::cr) {
    c.cr0 = s.cr0;
    c.cr2 = s.cr2;
    c.cr3 = s.cr3;
    c.cr4 = s.cr4;
    c.efer = s.efer | kEferSvme;
    c.dr7 = s.dr7;
  }
  if (mask & vm::Load::segments) {
    c.es = s.es, c.cs = s.cs, c.ss = s.ss, c.ds = s.ds, c.fs = s.fs, c.gs = s.gs, c.tr = s.tr, c.ldtr = s.ldtr;
    c.cpl = static_cast<uint8_t>((c.ss.attr >> 5) & 3);
    if (!(c.cr0 & kCr0Pe)) c.cpl = 0;
  }
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
    c.intercept_exceptions = s.exception_bitmap;
    c.intercept3 &= ~(Intercept3::rdtsc | Intercept3::pause);
    c.intercept4 &= ~Intercept4::rdtscp;
    c.intercept_cr &= 0xffffu;
    if (s.intercept_flags & vm::Intercept::rdtsc) {
      c.intercept3 |= Intercept3::rdtsc;
      c.intercept4 |= Intercept4::rdtscp;
    }
    if (s.intercept_flags & vm::Intercept::pause) c.intercept3 |= Intercept3::pause;
    if (s.intercept_flags & vm::Intercept::cr_writes) c.intercept_cr |= (1u << 16) | (1u << 19) | (1u << 20);
  }
  if (mask & vm::Load::interruptibility) c.interrupt_shadow = s.interrupt_shadow & 1;
  else if ((mask & vm::Load::regs) && c.rip != rip_before) c.interrupt_shadow = 0;  // a skipped instruction ends STI/MOV-SS blocking
  if (mask & vm::Load::inject) {
    // An external interrupt waits for the guest to be interruptible; the
    // other kinds are delivered at the next entry.
    if (inj.type == vm::EventType::external_interrupt) v->pending_irq = inj;
    else v->pending_exc = inj;
  }
  return abi::Error::ok;
}

void vcpu_save(Vcpu* v, vm::StatePage& s, uint64_t mask) {
  Vmcb& c = *vmcb(v);
  uint64_t* g = &s.regs.rax;
  for (unsigned i = 0; i < 16; ++i) g[i] = v->gpr[i];
  s.regs.rax = c.rax;
  s.regs.rsp = c.rsp;
  s.regs.rip = c.rip;
  s.regs.rflags = c.rflags;
  if (mask & vm::Load::cr) {
    s.cr0 = c.cr0, s.cr2 = c.cr2, s.cr3 = c.cr3, s.cr4 = c.cr4, s.efer = c.efer & ~kEferSvme, s.dr7 = c.dr7;
  }
  if (mask & vm::Load::segments) {
    s.es = c.es, s.cs = c.cs, s.ss = c.ss, s.ds = c.ds, s.fs = c.fs, s.gs = c.gs, s.tr = c.tr, s.ldtr = c.ldtr;
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
  if (mask & vm::Load::interruptibility) s.interrupt_shadow = static_cast<uint32_t>(c.interrupt_shadow & 1);
}

virt::ExitAction vcpu_enter(Vcpu* v, vm::Exit& exit) {
  Vmcb& c = *vmcb(v);
  Vm* vm = v->vm;
  c.tlb_control = 0;
  if (vm->flush_pending || g_asid_owner[vm->tag] != vm) {
    c.tlb_control = 1;  // flush everything: QEMU has no flush-by-ASID
    vm->flush_pending = false;
    g_asid_owner[vm->tag] = vm;
  }
  prepare_injection(v, c);
  c.clean_bits = 0;
  auto* save_area = reinterpret_cast<uint8_t*>(&c) + 0x400;
  __builtin_memcpy(g_save_area_copy, save_area, sizeof(g_save_area_copy));
  svm_run(v->control_pa, v->gpr, kphys(g_host_vmsave));
  if (is_invalid_exit(c.exitcode)) __builtin_memcpy(save_area, g_save_area_copy, sizeof(g_save_area_copy));

  // An event whose delivery the exit interrupted is delivered again.
  c.eventinj = (c.exitintinfo & Event::valid) ? c.exitintinfo : 0;
  auto code = static_cast<ExitCode>(c.exitcode);
  if (code == ExitCode::intr || code == ExitCode::nmi || code == ExitCode::smi || code == ExitCode::init) {
    asm volatile("sti; nop; cli" ::: "memory");  // take it through the IDT
    return virt::ExitAction::host_interrupt;
  }
  if (code == ExitCode::vintr) {
    c.vintr &= ~(1ull << 8);
    c.intercept3 &= ~Intercept3::vintr;
    if (!v->window_requested_by_vmm) return virt::ExitAction::resume;
    v->window_requested_by_vmm = false;
    exit = vm::Exit{};
    exit.reason = vm::ExitReason::interrupt_window;
    exit.vendor_code = c.exitcode;
    return virt::ExitAction::forward;
  }
  RawExit raw{c.exitcode, c.exitinfo1, c.exitinfo2, c.rip, c.next_rip, g_nrip_save, c.rax, v->gpr[1], c.cr2};
  // Guest code bytes are needed only where neither the CPU (NRIP save, IN/OUT)
  // nor the exit code alone gives the instruction's length.
  uint8_t insn[15];
  size_t n = 0;
  if (!g_nrip_save && opcode_for(static_cast<ExitCode>(raw.exitcode)).length != 0)
    n = read_guest_code(v->vm->root, c, insn, sizeof(insn));
  fix_wbinvd_alias(raw, insn, n, long_mode(c));
  decode(raw, exit);
  exit.instruction_length = instruction_length(raw, insn, n, long_mode(c));
  return virt::ExitAction::forward;
}

}  // namespace cos::svm
