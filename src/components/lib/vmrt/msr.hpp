// vmrt: the architectural MSRs whose values live in the vCPU state page
// (EFER, STAR/LSTAR/CSTAR/SFMASK, KERNEL_GS_BASE, SYSENTER_CS/ESP/EIP,
// FS/GS base) and the checks WRMSR makes on them and on PAT and TSC_AUX.
// A value the CPU would refuse gets #GP(0) in the guest instead of being
// stored and making the next VM entry fail (or, worse, being loaded into a
// host MSR by the kernel).
//
// The checks (Intel SDM Vol. 2B WRMSR "#GP(0) ... non-canonical address
// ... IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE, IA32_LSTAR,
// IA32_SYSENTER_EIP, IA32_SYSENTER_ESP"; Vol. 4 table 2-2; AMD APM Vol. 2
// 3.1.7 EFER, 6.1.1 SYSCALL MSRs; Vol. 3 WRMSR):
//
// | MSR                         | #GP(0) when                                    |
// |-----------------------------|------------------------------------------------|
// | EFER                        | a bit the guest CPU does not offer is set      |
// |                             | (SCE, LME/LMA, NXE, FFXSR per CPUID), or LME   |
// |                             | changes while CR0.PG = 1; LMA is read-only     |
// |                             | (the written bit is ignored, as in KVM)        |
// | LSTAR, CSTAR, KERNEL_GS_BASE, FS_BASE, GS_BASE | not canonical            |
// | SYSENTER_EIP, SYSENTER_ESP  | Intel: not canonical. AMD: bits 63:32 are      |
// |                             | ignored (no 64-bit SYSENTER; KVM likewise)     |
// | SFMASK                      | bits 63:32 set (reserved)                      |
// | SYSENTER_CS                 | never; bits 63:32 are not stored               |
// | STAR                        | never                                          |
// | PAT                         | a byte is not 0, 1, 4, 5, 6 or 7 (SDM Vol. 3A  |
// |                             | 13.12.2: reserved types and bits 7:3 -> #GP)   |
// | TSC_AUX                     | no RDTSCP/RDPID in CPUID; Intel: bits 63:32    |
// |                             | set; AMD: bits 63:32 ignored (KVM likewise)    |
//
// "Canonical" uses the guest's linear-address width: 57 bits when CPUID
// offers LA57 (leaf 7 ECX bit 16), else 48.
//
// Host-compilable.
#pragma once
#include <stdint.h>

#include "vmrt/vcpu_state.hpp"

namespace vmrt {

/// Architectural MSR numbers (Intel SDM Vol. 4 table 2-2; AMD APM Vol. 2 appendix A).
namespace msr {
inline constexpr uint32_t sysenter_cs = 0x174, sysenter_esp = 0x175, sysenter_eip = 0x176, pat = 0x277,
                          efer = 0xc0000080, star = 0xc0000081, lstar = 0xc0000082, cstar = 0xc0000083,
                          sfmask = 0xc0000084, fs_base = 0xc0000100, gs_base = 0xc0000101,
                          kernel_gs_base = 0xc0000102, tsc_aux = 0xc0000103;
}

/// EFER bits (AMD APM Vol. 2 3.1.7; Intel SDM Vol. 4 IA32_EFER).
inline constexpr uint64_t kEferFfxsr = 1ull << 14;

/// What the guest's CPU offers, as far as the MSR checks depend on it.
struct GuestCpu {
  enum class Vendor : uint8_t { intel, amd, other };
  Vendor vendor = Vendor::intel;
  unsigned linear_bits = 48;  ///< 48, or 57 with LA57
  bool syscall = true;        ///< CPUID 0x80000001 EDX bit 11 (EFER.SCE)
  bool nx = true;             ///< CPUID 0x80000001 EDX bit 20 (EFER.NXE)
  bool long_mode = true;      ///< CPUID 0x80000001 EDX bit 29 (EFER.LME/LMA)
  bool ffxsr = false;         ///< CPUID 0x80000001 EDX bit 25, AMD (EFER.FFXSR)
  bool tsc_aux = true;        ///< RDTSCP (0x80000001 EDX bit 27) or RDPID (7.0 ECX bit 22)

  /// The facts from a CPUID function (the guest's view): `cpuid(leaf,
  /// subleaf, regs)` fills regs[0..3] = EAX, EBX, ECX, EDX.
  static GuestCpu from_cpuid(void (*cpuid)(void* ctx, uint32_t leaf, uint32_t subleaf, uint32_t* regs), void* ctx);
};

/// Outcome of an MSR access handled here.
enum class MsrStatus : uint8_t {
  done,     ///< performed: skip the instruction
  gp,       ///< the CPU would raise #GP(0): inject it, do not skip
  unknown,  ///< not one of the MSRs this module handles
};

/// True if `addr` is canonical for a `bits`-bit linear address space.
bool is_canonical(uint64_t addr, unsigned bits);
/// True if every PAT entry holds a defined memory type (0 UC, 1 WC, 4 WT,
/// 5 WP, 6 WB, 7 UC-) with bits 7:3 clear (SDM Vol. 3A 13.12.2).
bool pat_valid(uint64_t pat);
/// The EFER the guest ends up with after `WRMSR EFER, value`, or false for
/// #GP: the checks of the table above, given the current EFER and CR0.
bool efer_write(const GuestCpu& cpu, uint64_t current_efer, uint64_t cr0, uint64_t value, uint64_t& result);

/// RDMSR of a state-page MSR (EFER, the SYSCALL/SYSENTER MSRs, FS/GS base;
/// needs Load::cr, Load::segments and Load::syscall_msrs fresh). `unknown`
/// for every other index, including PAT and TSC_AUX (the VMM keeps those).
MsrStatus read_state_msr(const VcpuState& v, uint32_t index, uint64_t& value);
/// WRMSR of a state-page MSR with the checks above; on `done` the value is
/// in the state page (loaded at the next entry).
MsrStatus write_state_msr(VcpuState& v, const GuestCpu& cpu, uint32_t index, uint64_t value);
/// The TSC_AUX value to keep for `WRMSR TSC_AUX, value`, or false for #GP.
bool tsc_aux_write(const GuestCpu& cpu, uint64_t value, uint64_t& result);

}  // namespace vmrt
