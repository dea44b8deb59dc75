// The MSRs a Linux guest uses, answered by the VMM (every MSR access exits).
//
// - Architectural state MSRs (EFER, the SYSCALL/SYSENTER MSRs, FS/GS base,
//   KERNEL_GS_BASE) go to the vCPU state through vmrt/msr.hpp, which refuses
//   with #GP what the CPU would refuse (non-canonical addresses, reserved
//   EFER bits, ...); PAT and TSC_AUX are kept here with the same checks.
// - The local APIC's MSRs (IA32_APIC_BASE, x2APIC, TSC deadline) go to the
//   APIC model.
// - Model-specific MSRs are answered as KVM answers them (Linux
//   arch/x86/kvm/x86.c kvm_get_msr_common / kvm_set_msr_common, vmx.c and
//   svm.c for the vendor-only ones), so a stock kernel boots without
//   "unchecked MSR access" errors: the fixed values KVM returns (0 for most,
//   the K7 clock-control ramp-up count, ...), the legacy PMU MSRs of a vCPU
//   without a PMU (read 0, writes ignored), HWCR, FEATURE_CONTROL (Intel)
//   and DE_CFG (AMD) with KVM's write rules. msrs.cpp lists each with its
//   KVM reference.
// - Everything else raises #GP like hardware without the MSR (Intel SDM
//   Vol. 4; AMD APM Vol. 2 appendix A).
#pragma once
#include <stdint.h>

#include "vmrt/msr.hpp"
#include "vmrt/vcpu_state.hpp"

namespace cos::simple_vmm {

/// Outcome of an MSR access.
enum class MsrResult { done, gp, apic };

/// Model-specific MSR numbers (Intel SDM Vol. 4 tables 2-2 and 2-3x; AMD
/// APM Vol. 2 appendix A; BKDG for AMD family 10h-15h; Linux
/// arch/x86/include/asm/msr-index.h names in the comments).
namespace msr {
inline constexpr uint32_t tsc = 0x10, platform_id = 0x17, apic_base = 0x1b, ebc_frequency_id = 0x2c,
                          ebl_cr_poweron = 0x2a, smi_count = 0x34, feature_control = 0x3a, ucode_write = 0x79,
                          ucode_rev = 0x8b, p6_perfctr0 = 0xc1, p6_perfctr1 = 0xc2, fsb_freq = 0xcd,
                          platform_info = 0xce, mtrr_cap = 0xfe, bbl_cr_ctl3 = 0x11e, misc_features_enables = 0x140,
                          mcg_cap = 0x179, mcg_status = 0x17a, p6_evntsel0 = 0x186, p6_evntsel1 = 0x187,
                          perf_status = 0x198, perf_ctl = 0x199, misc_enable = 0x1a0, power_ctl = 0x1fc,
                          debugctl = 0x1d9, lastbranch_from_ip = 0x1db, lastint_to_ip = 0x1de,
                          mtrr_def_type = 0x2ff, rapl_power_unit = 0x606, pkg_energy_status = 0x611,
                          dram_energy_status = 0x619, pp0_energy_status = 0x639, pp1_energy_status = 0x641,
                          tsc_deadline = 0x6e0, x2apic_first = 0x800, x2apic_last = 0x8ff,
                          k7_evntsel0 = 0xc0010000, k7_perfctr3 = 0xc0010007, amd_syscfg = 0xc0010010,
                          amd_hwcr = 0xc0010015, k7_clk_ctl = 0xc001001b, amd_nb_cfg = 0xc001001f,
                          amd_patch_loader = 0xc0010020, k8_int_pending_msg = 0xc0010055,
                          fam10h_mmio_conf_base = 0xc0010058, k8_tseg_addr = 0xc0010112, k8_tseg_mask = 0xc0010113,
                          vm_hsave_pa = 0xc0010117, f15h_perf_ctl0 = 0xc0010200, f15h_perf_ctr5 = 0xc001020b,
                          amd_dc_cfg = 0xc0011022, amd_de_cfg = 0xc0011029, amd_bu_cfg2 = 0xc001102a,
                          f15h_ex_cfg = 0xc001102c;
}

class Msrs {
 public:
  /// The guest CPU the checks follow (vendor, address width, features),
  /// from the CPUID the guest sees.
  void init(const vmrt::GuestCpu& cpu) { cpu_ = cpu; }
  /// RDMSR `index` into `value`; `apic` means: ask the local APIC model.
  MsrResult read(vmrt::VcpuState& cpu, uint32_t index, uint64_t& value);
  /// WRMSR; `apic` as above.
  MsrResult write(vmrt::VcpuState& cpu, uint32_t index, uint64_t value);

 private:
  vmrt::GuestCpu cpu_;
  uint64_t pat_ = 0x0007040600070406ull;  // power-on default (SDM Vol. 3A 13.12.4)
  uint64_t tsc_aux_ = 0;
  uint64_t misc_enable_ = 1;      // fast strings, as QEMU sets it
  uint64_t hwcr_ = 0;
  uint64_t feature_control_ = 0;  // unlocked, as without firmware that locks it
  uint64_t power_ctl_ = 0;
};

}  // namespace cos::simple_vmm
