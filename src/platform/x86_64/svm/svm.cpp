// SVM bring-up (AMD APM Vol. 2, 15.4 "Enabling SVM"), ASIDs and TLB control
// (15.16 "TLB Control"), nested-page-table entries and the backend table.
#include "x86_64/svm/svm.hpp"

#include "fmt/format.hpp"
#include "kernel/console.hpp"
#include "x86_64/cpu.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/svm/internal.hpp"
#include "x86_64/svm/npt.hpp"
#include "x86_64/this_cpu.hpp"
#include "cos/limits.hpp"

namespace cos::svm {

Caps g_caps;

namespace {

alignas(4096) uint8_t g_iopm[3 * 4096];        // every port intercepted
alignas(4096) uint8_t g_msrpm[2 * 4096];       // every MSR intercepted

/// ASIDs 1..asids-1 are handed out round robin; VMs may share one.
constexpr unsigned kMaxAsids = 256;
uint32_t g_next_asid = 1;

/// What SVM keeps per physical CPU.
struct CpuState {
  alignas(4096) uint8_t host_save_area[4096];  ///< VM_HSAVE_PA: written by VMRUN and #VMEXIT
  alignas(4096) uint8_t host_vmsave[4096];     ///< VMSAVE of the host's hidden state
  /// The last VM that ran on each ASID on this CPU: another VM's entry
  /// flushes the TLB (QEMU has 16 ASIDs and no flush-by-ASID).
  const Vm* asid_owner[kMaxAsids];
};
CpuState g_cpu_state[cos_limits::kMaxCpus];

bool init(const char*& why, char* summary, size_t summary_size) {
  uint32_t a, b, c, d;
  x86::cpuid(0x80000001, 0, a, b, c, d);
  if (!(c & kCpuidSvm)) {
    why = "AMD CPU without SVM";
    return false;
  }
  if (x86::rdmsr(Msr::vm_cr) & VmCr::svmdis) {
    why = "SVM disabled by the firmware (VM_CR.SVMDIS)";
    return false;
  }
  x86::cpuid(0x8000000a, 0, a, b, c, d);
  if (!(d & Feature::np)) {
    why = "SVM without nested paging (NPT)";
    return false;
  }
  g_caps.asids = b < kMaxAsids ? b : kMaxAsids;
  g_caps.nrip_save = (d & Feature::nrip_save) != 0;
  g_caps.decode_assists = (d & Feature::decode_assists) != 0;
  g_caps.flush_by_asid = (d & Feature::flush_by_asid) != 0;
  uint32_t l1c, l7b = 0, l7c = 0, max_basic;
  x86::cpuid(0, 0, max_basic, b, c, d);
  x86::cpuid(1, 0, a, b, l1c, d);
  if (max_basic >= 7) x86::cpuid(7, 0, a, l7b, l7c, d);
  g_caps.limits.cr4_valid = guest_cr4_valid(l1c, l7b, l7c);
  // With PKU a guest could set CR4.PKE by itself: SVM has no per-bit CR4
  // mask, so every CR4 write exits to the kernel (x86_64/guest_policy.hpp).
  g_caps.cr4_write_intercept = (cr4_valid_bits(l1c, l7b, l7c) & x86::kHostOwnedCr4) != 0;
  x86::cpuid(0x80000008, 0, a, b, c, d);
  g_caps.limits.phys_bits = (a & 0xff) ? (a & 0xff) : 36;
  for (auto& byte : g_iopm) byte = 0xff;
  for (auto& byte : g_msrpm) byte = 0xff;
  g_caps.iopm_pa = x86::virt_to_phys(g_iopm);
  g_caps.msrpm_pa = x86::virt_to_phys(g_msrpm);
  enable_this_cpu();
  fmt::snformat(summary, summary_size, "AMD SVM (NPT, %u ASIDs%s%s)", g_caps.asids,
                g_caps.nrip_save ? ", NRIP save" : ", no NRIP save: instruction lengths decoded by the kernel",
                g_caps.cr4_write_intercept ? ", PKU: guest CR4 writes emulated by the kernel" : "");
  return true;
}

constexpr platform::VirtBackend kBackend = {
    vm::kBackendSvm, vm_init,   vm_destroy, gpt_table_entry, gpt_leaf_entry, gpt_present,
    vcpu_init,       vcpu_destroy, vcpu_load, vcpu_save,     vcpu_enter,
};

}  // namespace

const platform::VirtBackend* probe(const char*& why, char* summary, size_t summary_size) {
  return init(why, summary, summary_size) ? &kBackend : nullptr;
}

void enable_this_cpu() {
  CpuState& s = g_cpu_state[platform::this_cpu()];
  x86::wrmsr(x86::Msr::efer, x86::rdmsr(x86::Msr::efer) | Efer::svme);
  x86::wrmsr(Msr::vm_hsave_pa, x86::virt_to_phys(s.host_save_area));
  // Every MSR and segment VMSAVE covers is set by now on this CPU (main.cpp
  // and smp.cpp: GDT, TSS, SYSCALL MSRs and GS first), and the kernel never
  // changes them.
  asm volatile("vmsave" ::"a"(x86::virt_to_phys(s.host_vmsave)) : "memory");
}

uint64_t host_vmsave_pa() { return x86::virt_to_phys(g_cpu_state[platform::this_cpu()].host_vmsave); }

abi::Error vm_init(Vm* vm) {
  vm->tag = g_next_asid;
  g_next_asid = g_next_asid + 1 < g_caps.asids ? g_next_asid + 1 : 1;
  return abi::Error::ok;
}

void vm_destroy(Vm* vm) {
  if (vm->tag >= kMaxAsids) return;
  for (CpuState& s : g_cpu_state)  // a new VM at the same address is another VM
    if (s.asid_owner[vm->tag] == vm) s.asid_owner[vm->tag] = nullptr;
}

void prepare_tlb(Vm* vm, Vmcb& c) {
  const unsigned cpu = platform::this_cpu();
  const Vm*& owner = g_cpu_state[cpu].asid_owner[vm->tag];
  const bool removed = take_flush(vm, cpu);
  c.tlb_control = TlbControl::nothing;
  if (removed || owner != vm) {
    // Only this VM's translations where the CPU can (QEMU cannot: all).
    c.tlb_control = g_caps.flush_by_asid ? TlbControl::flush_asid : TlbControl::flush_all;
    owner = vm;
  }
}

uint64_t gpt_table_entry(uint64_t table_pa) { return npt::table_entry(table_pa); }
uint64_t gpt_leaf_entry(uint64_t hpa, uint64_t rights, unsigned level) {
  return level == 0 ? npt::leaf_entry(hpa, rights) : level == 1 ? npt::large_leaf_entry(hpa, rights) : 0;
}
bool gpt_present(uint64_t e) { return npt::present(e); }

}  // namespace cos::svm
