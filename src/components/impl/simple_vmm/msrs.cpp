// simple_vmm's MSRs (msrs.hpp). Pure logic over a vmrt::VcpuState:
// host-compiled by the unit tests (tests/unit/simple_vmm_msrs_test.cpp).
#include "simple_vmm/msrs.hpp"

namespace cos::simple_vmm {
namespace {

using vmrt::GuestCpu;
using vmrt::MsrStatus;

bool is_apic(uint32_t index) {
  return index == msr::apic_base || index == msr::tsc_deadline ||
         (index >= msr::x2apic_first && index <= msr::x2apic_last);
}

/// The legacy performance-counter MSRs of a vCPU without a PMU: KVM reads
/// them as 0 and ignores writes (kvm_{get,set}_msr_common, "disabled
/// perfctr wrmsr"). CPUID hides the architectural PMU, and Linux then says
/// "PMU not available due to virtualization".
bool is_legacy_pmu(uint32_t index) {
  return (index >= msr::k7_evntsel0 && index <= msr::k7_perfctr3) || index == msr::p6_evntsel0 ||
         index == msr::p6_evntsel1 || index == msr::p6_perfctr0 || index == msr::p6_perfctr1;
}

constexpr uint64_t kFeatureControlLocked = 1;   // IA32_FEATURE_CONTROL bit 0 (SDM Vol. 4)
constexpr uint64_t kHwcrMcStatusWrEn = 1ull << 18;
// HWCR bits KVM accepts and drops: 3 TLB cache disable, 6 flush-filter
// disable (Linux sets it on family 0Fh), 8 IGNNE emulation.
constexpr uint64_t kHwcrIgnored = (1ull << 3) | (1ull << 6) | (1ull << 8);
// DEBUGCTL: LBR (0) and BTF (1) are accepted as no-ops, the rest is #GP (KVM).
constexpr uint64_t kDebugctlNop = 3;
// KVM's default microcode revision (kvm_vcpu_reset: microcode_version = 0x100000000).
constexpr uint64_t kMicrocodeVersion = 1ull << 32;

}  // namespace

MsrResult Msrs::read(vmrt::VcpuState& cpu, uint32_t index, uint64_t& value) {
  if (is_apic(index)) return MsrResult::apic;
  if (vmrt::read_state_msr(cpu, index, value) == MsrStatus::done) return MsrResult::done;
  if (is_legacy_pmu(index) || (index >= msr::f15h_perf_ctl0 && index <= msr::f15h_perf_ctr5) ||
      (index >= msr::lastbranch_from_ip && index <= msr::lastint_to_ip)) {
    value = 0;
    return MsrResult::done;
  }
  switch (index) {
    case msr::tsc: value = __builtin_ia32_rdtsc(); return MsrResult::done;  // the host TSC, as RDTSC gives it
    case vmrt::msr::pat: value = pat_; return MsrResult::done;
    case vmrt::msr::tsc_aux:
      if (!cpu_.tsc_aux) return MsrResult::gp;
      value = tsc_aux_;
      return MsrResult::done;
    case msr::ucode_rev: value = kMicrocodeVersion; return MsrResult::done;
    case msr::misc_enable: value = misc_enable_; return MsrResult::done;
    case msr::amd_hwcr: value = hwcr_; return MsrResult::done;
    case msr::power_ctl: value = power_ctl_; return MsrResult::done;
    case msr::feature_control:  // vmx.c: Intel only
      if (cpu_.vendor != GuestCpu::Vendor::intel) return MsrResult::gp;
      value = feature_control_;
      return MsrResult::done;
    case msr::amd_de_cfg:  // svm.c: AMD only; no LFENCE-serialize bit offered
      if (cpu_.vendor != GuestCpu::Vendor::amd) return MsrResult::gp;
      value = 0;
      return MsrResult::done;
    // No CPUID faulting is offered: PLATFORM_INFO without its bit, nothing
    // to enable in MISC_FEATURES_ENABLES.
    case msr::platform_info:
    case msr::misc_features_enables:
    // Fixed facts KVM answers for every guest (kvm_get_msr_common): no
    // machine-check banks or MTRRs (hidden in CPUID too), no SMIs, AMD
    // northbridge/TSEG/power and Intel RAPL registers as 0.
    case msr::mtrr_cap:
    case msr::mtrr_def_type:
    case msr::mcg_cap:
    case msr::mcg_status:
    case msr::smi_count:
    case msr::platform_id:
    case msr::ebl_cr_poweron:
    case msr::debugctl:
    case msr::perf_ctl:
    case msr::amd_syscfg:
    case msr::k8_tseg_addr:
    case msr::k8_tseg_mask:
    case msr::vm_hsave_pa:
    case msr::k8_int_pending_msg:  // Linux's AMD C1E check reads it unguarded
    case msr::amd_nb_cfg:
    case msr::fam10h_mmio_conf_base:
    case msr::amd_bu_cfg2:
    case msr::amd_dc_cfg:
    case msr::f15h_ex_cfg:
    case msr::rapl_power_unit:
    case msr::pp0_energy_status:
    case msr::pp1_energy_status:
    case msr::pkg_energy_status:
    case msr::dram_energy_status:
      value = 0;
      return MsrResult::done;
    case msr::fsb_freq: value = 3; return MsrResult::done;
    case msr::ebc_frequency_id: value = 1ull << 24; return MsrResult::done;
    case msr::perf_status: value = 1000 | (4ull << 40); return MsrResult::done;
    case msr::k7_clk_ctl: value = 0x20000000; return MsrResult::done;
    case msr::bbl_cr_ctl3: value = 0xbe702111; return MsrResult::done;
    default: return MsrResult::gp;
  }
}

MsrResult Msrs::write(vmrt::VcpuState& cpu, uint32_t index, uint64_t value) {
  if (is_apic(index)) return MsrResult::apic;
  switch (vmrt::write_state_msr(cpu, cpu_, index, value)) {
    case MsrStatus::done: return MsrResult::done;
    case MsrStatus::gp: return MsrResult::gp;
    case MsrStatus::unknown: break;
  }
  if (is_legacy_pmu(index)) return MsrResult::done;
  switch (index) {
    case vmrt::msr::pat:
      if (!vmrt::pat_valid(value)) return MsrResult::gp;
      pat_ = value;
      return MsrResult::done;
    case vmrt::msr::tsc_aux:
      return vmrt::tsc_aux_write(cpu_, value, tsc_aux_) ? MsrResult::done : MsrResult::gp;
    case msr::amd_hwcr:
      value &= ~kHwcrIgnored;
      if (value != 0 && value != kHwcrMcStatusWrEn) return MsrResult::gp;
      hwcr_ = value;
      return MsrResult::done;
    case msr::feature_control:
      // Only the lock bit: VMX, SMX, SGX and LMCE are not offered; a locked
      // register refuses every write (SDM Vol. 3C 24.7; KVM vmx_set_msr).
      if (cpu_.vendor != GuestCpu::Vendor::intel || (feature_control_ & kFeatureControlLocked) ||
          (value & ~kFeatureControlLocked))
        return MsrResult::gp;
      feature_control_ = value;
      return MsrResult::done;
    case msr::amd_de_cfg:  // KVM: the guest may only write the supported value (here 0)
      return cpu_.vendor == GuestCpu::Vendor::amd && value == 0 ? MsrResult::done : MsrResult::gp;
    case msr::misc_features_enables:
      return value == 0 ? MsrResult::done : MsrResult::gp;
    case msr::debugctl:
      return (value & ~kDebugctlNop) ? MsrResult::gp : MsrResult::done;
    case msr::fam10h_mmio_conf_base:
      return value == 0 ? MsrResult::done : MsrResult::gp;
    case msr::misc_enable: misc_enable_ = value; return MsrResult::done;
    case msr::power_ctl: power_ctl_ = value; return MsrResult::done;
    case msr::tsc:           // the guest sees the host TSC; writes are ignored
    case msr::ucode_rev:     // Linux writes 0 before reading the microcode revision
    case msr::ucode_write:   // no microcode loading
    case msr::mcg_status:
    case msr::mtrr_def_type:
    case msr::amd_nb_cfg:    // KVM ignores these writes
    case msr::vm_hsave_pa:
    case msr::amd_patch_loader:
    case msr::amd_bu_cfg2:
    case msr::amd_dc_cfg:
    case msr::f15h_ex_cfg:
    case msr::k7_clk_ctl:
    case msr::bbl_cr_ctl3:
      return MsrResult::done;
    default: return MsrResult::gp;
  }
}

}  // namespace cos::simple_vmm
