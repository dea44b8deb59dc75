// vmtest: the "empty PC" a hostile guest runs on — the answers a VMM with no
// devices gives to every exit, built from vmrt's emulators, with counters a
// test checks afterwards:
//
// | exit                | the guest gets                                       |
// |---------------------|------------------------------------------------------|
// | io                  | vmrt::emulate_io on no devices: IN all ones, OUT     |
// |                     | dropped, INS/OUTS bounded per exit and resumable     |
// | gpa_fault           | vmrt::emulate_mmio on the empty bus: reads all ones, |
// |                     | writes dropped, #UD/#GP for what it cannot perform   |
// | msr_read/msr_write  | the state-page MSRs (vmrt/msr.hpp checks), PAT and   |
// |                     | TSC_AUX (if offered); #GP(0) for every other MSR     |
// | cpuid               | pc_cpuid(): the host's CPUID without VMX, SVM, SMX,  |
// |                     | MONITOR, XSAVE, the PMU, x2APIC and the hypervisor   |
// |                     | leaves                                               |
// | hypercall, vendor   | #UD (no hypercall interface; MONITOR/MWAIT hidden)   |
// | xsetbv              | #GP(0) (XSAVE is not offered)                        |
// | invd, wbinvd        | skipped                                              |
// | cr_access (CR8)     | the TPR: bits 3:0 kept, #GP(0) for bits 63:4 (VMX    |
// |                     | exits on CR8 accesses; SVM keeps them in V_TPR)      |
// | hlt, shutdown,      | the run ends (a PC without interrupt sources halts   |
// | entry_failure       | for ever; a triple fault resets it)                  |
// | anything else       | the run ends; counted as unexpected                  |
//
// pc_cpuid is host-compilable; EmptyPc uses vmrt's host-compilable parts only.
#pragma once
#include <stdint.h>

#include <initializer_list>

#include "vmrt/msr.hpp"
#include "vmrt/string_io.hpp"
#include "vmrt/vcpu_state.hpp"

namespace vmtest {

namespace vm = cos::vm;

struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};
/// The host's CPUID(leaf, subleaf), e.g. the instruction executed by the VMM.
using HostCpuid = CpuidRegs (*)(uint32_t leaf, uint32_t subleaf);

/// CPUID feature bits the empty PC hides (Intel SDM Vol. 2A CPUID tables
/// 3-8..3-20; AMD APM Vol. 3 appendix E).
namespace cpuid_bits {
inline constexpr uint32_t kLeaf1EcxMonitor = 1u << 3, kLeaf1EcxVmx = 1u << 5, kLeaf1EcxSmx = 1u << 6,
                          kLeaf1EcxPdcm = 1u << 15, kLeaf1EcxX2apic = 1u << 21, kLeaf1EcxTscDeadline = 1u << 24,
                          kLeaf1EcxXsave = 1u << 26, kLeaf1EcxOsxsave = 1u << 27, kLeaf1EcxAvx = 1u << 28,
                          kLeaf1EcxHypervisor = 1u << 31;
inline constexpr uint32_t kExt1EcxSvm = 1u << 2, kExt1EcxSkinit = 1u << 12, kExt1EcxPerfCtr = 1u << 23,
                          kExt1EcxPerfNb = 1u << 24, kExt1EcxPerfL2 = 1u << 28;
}  // namespace cpuid_bits

/// The empty PC's CPUID(leaf, subleaf): the host's answer with VMX, SMX,
/// MONITOR, PDCM, x2APIC, TSC-deadline, XSAVE/OSXSAVE/AVX hidden and the
/// hypervisor bit set in leaf 1; leaves 5 (MONITOR), 0xa (PMU) and 0xd
/// (XSAVE) zero; leaf 7 only subleaf 0 with EBX kept and ECX/EDX zero;
/// SVM, SKINIT and the AMD counters hidden in 0x80000001 and leaf
/// 0x8000000a (SVM) zero; every leaf in 0x40000000-0x4fffffff zero (no
/// hypervisor interface); leaves beyond the host's maxima zero.
CpuidRegs pc_cpuid(HostCpuid host, uint32_t leaf, uint32_t subleaf);

/// The answer checksum both sides of a CPUID sweep compute: for each
/// CPUID in order, sum = rol(sum, 5) ^ eax; ... ^ ebx; ... ^ ecx; ... ^ edx
/// (32-bit).
inline uint32_t cpuid_checksum(uint32_t sum, const CpuidRegs& r) {
  for (uint32_t v : {r.eax, r.ebx, r.ecx, r.edx}) sum = ((sum << 5) | (sum >> 27)) ^ v;
  return sum;
}

/// What the empty PC did since the last reset().
struct PcStats {
  uint64_t exits = 0;                                   ///< exits dispatched
  uint64_t by_reason[vmrt::kExitReasonSlots] = {};      ///< per vmrt::exit_reason_index
  uint64_t unexpected = 0;                              ///< exits the empty PC has no answer for
  vm::ExitReason last_unexpected = vm::ExitReason::none;
  // Port I/O.
  uint64_t io_in = 0, io_out = 0;                       ///< IN/OUT and INS/OUTS exits
  uint64_t io_string_elements = 0;                      ///< elements INS/OUTS moved
  uint64_t io_max_elements = 0;                         ///< the most elements of one exit
  uint64_t io_partial = 0, io_faults = 0, io_retries = 0;
  uint8_t io_last_fault = 0;                            ///< vector of the last fault
  // MMIO (gpa faults outside RAM).
  uint64_t mmio_emulated = 0, mmio_partial = 0, mmio_faults = 0;
  uint64_t mmio_max_elements = 0;
  uint8_t mmio_last_fault = 0;
  const char* mmio_last_why = "";
  // MSRs.
  uint64_t msr_done = 0, msr_gp = 0;
  // CPUID: cpuid_checksum over the answers, in order.
  uint64_t cpuid_count = 0;
  uint32_t cpuid_sum = 0;
  // Injected #UD / #GP for exits the PC refuses.
  uint64_t hypercall_ud = 0, vendor_ud = 0, xsetbv_gp = 0, cr8_gp = 0;
  // How the run ended (the last stop).
  bool halted_with_if = false;                          ///< RFLAGS.IF at the HLT
  uint64_t count(vm::ExitReason r) const {
    int i = vmrt::exit_reason_index(r);
    return i < 0 ? 0 : by_reason[i];
  }
};

/// A per-exit observer a test adds: called before the empty PC answers
/// (the state page holds the exit). Return false to stop the run.
using ExitObserver = bool (*)(vmrt::VcpuState& v, void* ctx);

class EmptyPc {
 public:
  /// The guest CPU the MSR checks follow, from pc_cpuid(host).
  void init(HostCpuid host);
  /// Registers the handlers on `v` (all exit reasons plus a fallback).
  void attach(vmrt::VcpuState& v);
  void reset_stats() { stats = PcStats{}; }

  PcStats stats;
  /// Elements an INS/OUTS or MOVS/STOS/LODS on MMIO moves per exit.
  uint64_t max_elements = vmrt::kStringIoMaxElements;
  ExitObserver observer = nullptr;
  void* observer_ctx = nullptr;
  HostCpuid host() const { return host_; }
  const vmrt::GuestCpu& guest_cpu() const { return cpu_; }

  /// RDMSR / WRMSR as the empty PC answers them: MsrStatus::done (value
  /// set / stored) or gp.
  vmrt::MsrStatus read_msr(vmrt::VcpuState& v, uint32_t index, uint64_t& value);
  vmrt::MsrStatus write_msr(vmrt::VcpuState& v, uint32_t index, uint64_t value);

 private:
  static vmrt::Action on_exit(vmrt::VcpuState& v, void* ctx);
  vmrt::Action answer(vmrt::VcpuState& v);

  HostCpuid host_ = nullptr;
  vmrt::GuestCpu cpu_{};
  uint64_t pat_ = 0x0007040600070406ull;  // power-on PAT (SDM Vol. 3A 13.12.4)
  uint64_t tsc_aux_ = 0;
  uint64_t tpr_ = 0;  // CR8 (Intel SDM Vol. 3A 2.5, 11.8.6.1)
};

}  // namespace vmtest
