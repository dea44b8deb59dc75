// VMX bring-up (Intel SDM Vol. 3C, 24.6 "Discovering Support for VMX" and
// 24.7 "Enabling and Entering VMX Operation"), VPIDs and EPT roots.
#include "x86_64/vmx/vmx.hpp"

#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/vmx/ept.hpp"
#include "fmt/format.hpp"
#include "x86_64/vmx/internal.hpp"
#include "x86_64/lapic.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/this_cpu.hpp"
#include "cos/limits.hpp"

namespace cos::vmx {

Caps g_caps;

namespace {

/// Longest guest run without an exit (VMX-preemption timer): two kernel ticks.
constexpr uint64_t kPreemptionBudgetUs = 2 * abi::kTickUs;

alignas(4096) uint8_t g_vmxon_region[cos_limits::kMaxCpus][4096];
/// One MSR bitmap for every VMCS: all ones, so every RDMSR/WRMSR exits.
alignas(4096) uint8_t g_msr_bitmap[4096];

/// Per CPU: the physical address of its current VMCS (0: none).
uint64_t g_current_vmcs[cos_limits::kMaxCpus];
/// Per CPU: VMXON succeeded there.
bool g_vmx_on[cos_limits::kMaxCpus];

/// cpu_call target: VMCLEAR of a VMCS active on the calling CPU.
void vmclear_here(uint64_t pa) {
  vmclear(pa);
  uint64_t& current = g_current_vmcs[platform::this_cpu()];
  if (current == pa) current = 0;
}

/// VPIDs 1..65535 (0 is the host's); bit set = in use.
constexpr unsigned kVpids = 65536;
uint64_t g_vpid_used[kVpids / 64];
unsigned g_vpid_next = 1;


/// A control field's value: `want` adjusted to the allowed-0 (low half of
/// the capability MSR: must be 1) and allowed-1 settings (high half: may be 1).
struct Ctl {
  uint32_t must1, may1;
  explicit Ctl(uint32_t msr) {
    uint64_t v = x86::rdmsr(msr);
    must1 = static_cast<uint32_t>(v);
    may1 = static_cast<uint32_t>(v >> 32);
  }
  bool has(uint32_t bits) const { return (may1 & bits) == bits; }
  uint32_t value(uint32_t want) const { return (want | must1) & may1; }
};

}  // namespace

void release_vmcs(Vcpu* v) {
  VcpuState& x = vcpu_state(v);
  if (x.active_cpu) {
    const unsigned there = x.active_cpu - 1u;
    if (there == platform::this_cpu()) vmclear_here(v->control_pa);
    else platform::cpu_call(there, vmclear_here, v->control_pa);
  }
  x.active_cpu = 0;
  x.launched = false;  // a cleared VMCS is launched again (Intel SDM Vol. 3C, 25.11.3)
}

void make_current(Vcpu* v) {
  const unsigned cpu = platform::this_cpu();
  VcpuState& x = vcpu_state(v);
  if (g_current_vmcs[cpu] == v->control_pa) return;
  if (x.active_cpu != cpu + 1) release_vmcs(v);
  if (!g_vmx_on[cpu]) panic("vmx: CPU %u runs no VMX", cpu);
  if (!vmptrld(v->control_pa)) panic("vmx: VMPTRLD %#lx failed", v->control_pa);
  g_current_vmcs[cpu] = v->control_pa;
  if (x.active_cpu != cpu + 1) {
    x.active_cpu = static_cast<uint8_t>(cpu + 1);
    if (!write_host_tables()) panic("vmx: writing the host state of CPU %u failed", cpu);
  }
}

void flush_vpid(Vm* vm) {
  if (g_caps.invvpid_single) invvpid(InvType::single, static_cast<uint16_t>(vm->tag));
  else invvpid(InvType::all, 0);
}

namespace {

void flush_ept(Vm* vm) {
  if (g_caps.invept_single) invept(InvType::single, ept::eptp(vm->root));
  else invept(InvType::all, 0);
}

}  // namespace

namespace {

/// IA32_FEATURE_CONTROL (locked by firmware, or locked here with VMXON
/// outside SMX allowed), the VMX fixed bits in CR0/CR4 (CR0.NE, CR4.VMXE),
/// then VMXON with this CPU's region (Intel SDM Vol. 3C, 24.7 "Enabling and
/// Entering VMX Operation"). Per CPU: each has these registers.
bool vmxon_this_cpu(const char*& why) {
  uint64_t fc = x86::rdmsr(Msr::feature_control);
  if (fc & FeatureControl::lock) {
    if (!(fc & FeatureControl::vmxon_outside_smx)) {
      why = "VMX is disabled by the firmware (IA32_FEATURE_CONTROL locked)";
      return false;
    }
  } else {
    x86::wrmsr(Msr::feature_control, fc | FeatureControl::lock | FeatureControl::vmxon_outside_smx);
  }
  const GuestLimits& l = g_caps.limits;
  const uint64_t cr0 = x86::read_cr0() | l.cr0_fixed0;
  const uint64_t cr4 = x86::read_cr4() | l.cr4_fixed0;
  if ((cr0 & ~l.cr0_fixed1) || (cr4 & ~l.cr4_fixed1)) {
    why = "host CR0/CR4 violate the VMX fixed bits";
    return false;
  }
  x86::write_cr0(cr0);
  x86::write_cr4(cr4);
  const unsigned cpu = platform::this_cpu();
  *reinterpret_cast<uint32_t*>(g_vmxon_region[cpu]) = g_caps.revision;
  if (!vmxon(x86::virt_to_phys(g_vmxon_region[cpu]))) {
    x86::write_cr4(cr4 & ~Cr4::vmxe);
    why = "VMXON failed";
    return false;
  }
  // Nothing cached from before VMXON (e.g. by a previous kernel) may survive.
  if (g_caps.invept_all) invept(InvType::all, 0);
  if (g_caps.invvpid_all) invvpid(InvType::all, 0);
  g_vmx_on[cpu] = true;
  return true;
}

bool init(const char*& why, char* summary, size_t summary_size) {
  uint32_t a, b, c, d;
  x86::cpuid(1, 0, a, b, c, d);
  if (!(c & (1u << 5))) { why = "the CPU has no VMX (CPUID.1:ECX.VMX = 0)"; return false; }

  uint64_t basic = x86::rdmsr(Msr::vmx_basic);
  if (Basic::vmcs_size(basic) > 4096) { why = "VMCS larger than a page"; return false; }
  g_caps.revision = Basic::revision(basic);
  {
    uint32_t max_basic, b, c, d, ecx7 = 0, edx7 = 0;
    x86::cpuid(0, 0, max_basic, b, c, d);
    if (max_basic >= 7) x86::cpuid(7, 0, max_basic, b, ecx7, edx7);
    g_caps.cp_error_code = (ecx7 & (1u << 7)) || (edx7 & (1u << 20)) || (basic & (1ull << 56));
  }
  const bool true_ctls = basic & Basic::true_controls;

  Ctl pin(true_ctls ? Msr::vmx_true_pinbased_ctls : Msr::vmx_pinbased_ctls);
  Ctl cpu1(true_ctls ? Msr::vmx_true_procbased_ctls : Msr::vmx_procbased_ctls);
  Ctl exit(true_ctls ? Msr::vmx_true_exit_ctls : Msr::vmx_exit_ctls);
  Ctl entry(true_ctls ? Msr::vmx_true_entry_ctls : Msr::vmx_entry_ctls);

  const uint32_t pin_need = Pin::external_interrupt_exiting | Pin::nmi_exiting;
  const uint32_t cpu1_need = Cpu1::hlt_exiting | Cpu1::unconditional_io_exiting | Cpu1::use_msr_bitmaps |
                             Cpu1::secondary_controls | Cpu1::interrupt_window_exiting |
                             Cpu1::mwait_exiting | Cpu1::monitor_exiting | Cpu1::rdpmc_exiting |
                             Cpu1::cr8_load_exiting | Cpu1::cr8_store_exiting | Cpu1::mov_dr_exiting;
  const uint32_t exit_need = ExitCtl::host_address_space_size | ExitCtl::save_efer | ExitCtl::load_efer;
  const uint32_t entry_need = EntryCtl::load_efer;
  if (!pin.has(pin_need)) { why = "VMX lacks external-interrupt or NMI exiting"; return false; }
  if (!cpu1.has(cpu1_need)) { why = "VMX lacks a required primary processor-based control"; return false; }
  if (!exit.has(exit_need) || !entry.has(entry_need)) { why = "VMX cannot switch IA32_EFER"; return false; }
  if (exit.must1 & ExitCtl::ack_interrupt_on_exit) { why = "VMX forces acknowledge-interrupt-on-exit"; return false; }

  Ctl cpu2(Msr::vmx_procbased_ctls2);
  const uint32_t cpu2_need = Cpu2::enable_ept | Cpu2::unrestricted_guest | Cpu2::enable_vpid;
  if (!cpu2.has(Cpu2::enable_ept)) { why = "VMX without EPT"; return false; }
  if (!cpu2.has(Cpu2::unrestricted_guest)) { why = "VMX without unrestricted guest"; return false; }
  if (!cpu2.has(Cpu2::enable_vpid)) { why = "VMX without VPID"; return false; }

  uint64_t ept_cap = x86::rdmsr(Msr::vmx_ept_vpid_cap);
  if (!(ept_cap & EptCap::walk_length_4) || !(ept_cap & EptCap::memtype_wb)) {
    why = "EPT without 4-level write-back tables";
    return false;
  }
  if (!(ept_cap & EptCap::invept) || !(ept_cap & (EptCap::invept_single | EptCap::invept_all))) {
    why = "EPT without INVEPT";
    return false;
  }
  if (!(ept_cap & EptCap::invvpid) || !(ept_cap & (EptCap::invvpid_single | EptCap::invvpid_all))) {
    why = "VPID without INVVPID";
    return false;
  }
  uint64_t misc = x86::rdmsr(Msr::vmx_misc);

  g_caps.virtual_nmis = pin.has(Pin::virtual_nmis) && cpu1.has(Cpu1::nmi_window_exiting);
  if (pin.has(Pin::preemption_timer)) {
    uint64_t ticks = (x86::lapic::tsc_per_us() * kPreemptionBudgetUs) >> Misc::preemption_timer_rate(x86::rdmsr(Msr::vmx_misc));
    g_caps.preemption_ticks = static_cast<uint32_t>(ticks == 0 ? 1 : ticks > 0xffffffffull ? 0xffffffffull : ticks);
  }
  g_caps.pin = pin.value(pin_need | (g_caps.virtual_nmis ? Pin::virtual_nmis : 0) |
                         (g_caps.preemption_ticks ? Pin::preemption_timer : 0));
  // Interrupt-window, RDTSC, PAUSE and CR3-load exiting are switched per
  // entry / per VMM request; the base value has them off where allowed.
  g_caps.cpu1 = cpu1.value(cpu1_need & ~Cpu1::interrupt_window_exiting);
  g_caps.cpu1_allowed0 = cpu1.must1;
  g_caps.cpu1_allowed1 = cpu1.may1;
  g_caps.cpu2 = cpu2.value(cpu2_need | Cpu2::wbinvd_exiting | Cpu2::enable_rdtscp | Cpu2::enable_invpcid);
  g_caps.exit = exit.value(exit_need | ExitCtl::save_debug_controls | ExitCtl::save_pat | ExitCtl::load_pat);
  g_caps.entry = entry.value(entry_need | EntryCtl::load_debug_controls | EntryCtl::load_pat);
  g_caps.execute_only = ept_cap & EptCap::execute_only;
  g_caps.ept_2m = ept_cap & EptCap::pde_2m;
  g_caps.invept_single = ept_cap & EptCap::invept_single;
  g_caps.invvpid_single = ept_cap & EptCap::invvpid_single;
  g_caps.lma_store = misc & Misc::store_lma;
  g_caps.zero_length_inject = misc & Misc::zero_length_injection;

  GuestLimits& l = g_caps.limits;
  l.cr0_fixed0 = x86::rdmsr(Msr::vmx_cr0_fixed0);
  l.cr0_fixed1 = x86::rdmsr(Msr::vmx_cr0_fixed1);
  l.cr4_fixed0 = x86::rdmsr(Msr::vmx_cr4_fixed0);
  l.cr4_fixed1 = x86::rdmsr(Msr::vmx_cr4_fixed1);
  x86::cpuid(0x80000000, 0, a, b, c, d);
  l.phys_bits = 36;
  if (a >= 0x80000008) {
    x86::cpuid(0x80000008, 0, a, b, c, d);
    l.phys_bits = a & 0xff;
  }

  g_caps.invept_all = ept_cap & EptCap::invept_all;
  g_caps.invvpid_all = ept_cap & EptCap::invvpid_all;
  for (auto& byte : g_msr_bitmap) byte = 0xff;
  g_caps.msr_bitmap_pa = x86::virt_to_phys(g_msr_bitmap);
  if (!vmxon_this_cpu(why)) return false;

  fmt::snformat(summary, summary_size, "Intel VMX (EPT, unrestricted guest, VPID%s%s)",
                g_caps.virtual_nmis ? ", virtual NMIs" : "", g_caps.preemption_ticks ? ", preemption timer" : "");
  return true;
}

constexpr platform::VirtBackend kBackend = {
    vm::kBackendVmx, vm_init,   vm_destroy, gpt_table_entry, gpt_leaf_entry, gpt_present,
    vcpu_init,       vcpu_destroy, vcpu_load, vcpu_save,     vcpu_enter,
};

}  // namespace

const platform::VirtBackend* probe(const char*& why, char* summary, size_t summary_size) {
  return init(why, summary, summary_size) ? &kBackend : nullptr;
}

void enable_this_cpu() {
  const char* why = "";
  if (!vmxon_this_cpu(why))
    kprintf("cos: vmx: CPU %u: %s; vCPUs placed there cannot run\n", platform::this_cpu(), why);
}

abi::Error vm_init(Vm* vm) {
  for (unsigned n = 0; n < kVpids - 1; ++n) {
    unsigned id = g_vpid_next;
    g_vpid_next = g_vpid_next + 1 < kVpids ? g_vpid_next + 1 : 1;
    if (g_vpid_used[id / 64] & (1ull << (id % 64))) continue;
    g_vpid_used[id / 64] |= 1ull << (id % 64);
    vm->tag = id;
    // A reused VPID or EPT root may have translations cached: flush both
    // before the first entry.
    request_flush(vm);
    flush_vpid(vm);
    return abi::Error::ok;
  }
  return abi::Error::out_of_memory;
}

void vm_destroy(Vm* vm) {
  if (vm->root) flush_ept(vm);
  if (vm->tag > 0 && vm->tag < kVpids) {
    flush_vpid(vm);
    g_vpid_used[vm->tag / 64] &= ~(1ull << (vm->tag % 64));
  }
  vm->tag = 0;
}

/// Called before each entry: INVEPT if a mapping of the VM was removed.
void flush_if_pending(Vm* vm) {
  if (take_flush(vm, platform::this_cpu())) flush_ept(vm);
}

uint64_t gpt_table_entry(uint64_t table_pa) { return ept::table_entry(table_pa); }
uint64_t gpt_leaf_entry(uint64_t hpa, uint64_t rights, unsigned level) {
  if (level == 0) return ept::leaf_entry(hpa, rights, g_caps.execute_only);
  return level == 1 && g_caps.ept_2m ? ept::large_leaf_entry(hpa, rights, g_caps.execute_only) : 0;
}
bool gpt_present(uint64_t entry) { return ept::present(entry); }

bool read_guest_phys(Vm* vm, uint64_t gpa, void* dst, unsigned len) {
  struct Mem {
    uint64_t* table(uint64_t pa) { return x86::phys_to_virt<uint64_t>(pa); }
  } mem;
  auto* out = static_cast<uint8_t*>(dst);
  while (len > 0) {
    uint64_t hpa, perm;
    if (!ept::translate(mem, vm->root, gpa, hpa, perm) || !(perm & ept::kRead)) return false;
    unsigned n = static_cast<unsigned>(4096 - (gpa & 4095));
    if (n > len) n = len;
    if (hpa + n > x86::kDirectMapSize) return false;
    const auto* src = x86::phys_to_virt<uint8_t>(hpa);
    for (unsigned i = 0; i < n; ++i) out[i] = src[i];
    out += n;
    gpa += n;
    len -= n;
  }
  return true;
}

}  // namespace cos::vmx
