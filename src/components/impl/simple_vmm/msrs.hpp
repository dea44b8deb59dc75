// The MSRs a Linux guest uses that the VMM answers itself (every MSR access
// exits). Guest-state MSRs (EFER, the SYSCALL/SYSENTER MSRs, FS/GS base) go
// to the vCPU state; the local APIC's (IA32_APIC_BASE, x2APIC, TSC deadline)
// to the APIC model; a few read-only facts are answered here; everything
// else raises #GP like hardware without the MSR (Intel SDM Vol. 4).
#pragma once
#include <stdint.h>

#include "vmrt/vmrt.hpp"

namespace cos::simple_vmm {

/// Outcome of an MSR access.
enum class MsrResult { done, gp, apic };

/// MSR numbers (Intel SDM Vol. 4, table 2-2; AMD APM Vol. 2, appendix A).
namespace msr {
inline constexpr uint32_t tsc = 0x10, apic_base = 0x1b, feature_control = 0x3a, bios_sign_id = 0x8b,
                          mtrr_cap = 0xfe, sysenter_cs = 0x174, sysenter_esp = 0x175, sysenter_eip = 0x176,
                          mcg_cap = 0x179, mcg_status = 0x17a, misc_enable = 0x1a0, pat = 0x277,
                          mtrr_def_type = 0x2ff, tsc_deadline = 0x6e0, x2apic_first = 0x800, x2apic_last = 0x8ff,
                          efer = 0xc0000080, star = 0xc0000081, lstar = 0xc0000082, cstar = 0xc0000083,
                          sfmask = 0xc0000084, fs_base = 0xc0000100, gs_base = 0xc0000101,
                          kernel_gs_base = 0xc0000102, tsc_aux = 0xc0000103, amd_hwcr = 0xc0010015;
}

class Msrs {
 public:
  /// RDMSR `index` into `value`; `apic` means: ask the local APIC model.
  MsrResult read(vmrt::VcpuState& cpu, uint32_t index, uint64_t& value);
  /// WRMSR; `apic` as above.
  MsrResult write(vmrt::VcpuState& cpu, uint32_t index, uint64_t value);

 private:
  uint64_t pat_ = 0x0007040600070406ull;  // power-on default
  uint64_t tsc_aux_ = 0;
};

}  // namespace cos::simple_vmm
