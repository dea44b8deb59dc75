// What the guest sees for CPUID: the host's answers with everything the VMM
// does not virtualize removed, the hypervisor bit set, VMX/SVM hidden and the
// VM's CPU topology (CpuTopology: N cores of one thread in one package). Pure logic (the VMM supplies the host's raw values),
// host-testable. Bit positions: Intel SDM Vol. 2A, CPUID, tables 3-8..3-20;
// AMD APM Vol. 3, appendix E.
#pragma once
#include <stdint.h>

namespace cos::simple_vmm {

struct CpuidRegs {
  uint32_t eax, ebx, ecx, edx;
};

/// Host CPUID, e.g. the `cpuid` instruction executed by the VMM itself.
using HostCpuid = CpuidRegs (*)(uint32_t leaf, uint32_t subleaf);

/// The hypervisor signature in leaf 0x40000000 (EBX, ECX, EDX): KVM's, so
/// that stock Linux uses the paravirtual clock (the only KVM feature offered,
/// leaf 0x40000001; Linux Documentation/virt/kvm/x86/cpuid.rst).
inline constexpr char kHypervisorSignature[13] = "KVMKVMKVM\0\0\0";

/// A cos leaf where the guest reads simple_vmm's exit counters (for
/// benchmarks: guest/bench/*.c read them before and after a transfer). It
/// lies above KVM's range 0x40000000-0x400000ff, which Linux scans for
/// signatures in steps of 0x100: EBX = ECX = 0 there, no signature.
///   subleaf 0:       exits of this vCPU so far (EAX bits 0-31, EDX bits 32-63)
///   subleaf 1 + r:   exits the VMM handled with vm::ExitReason r (r < 31;
///                    r = 31 collects the rest), same registers
///   other subleaves: all zero
/// Reading it is itself a CPUID exit, counted before the answer is made.
inline constexpr uint32_t kExitCountersLeaf = 0x40000100;

/// Which vCPU asks and how many there are: the guest sees `count` cores with
/// one thread each in one package, the asking vCPU's initial APIC ID being
/// `apic_id` (simple_vmm gives vCPU i APIC ID i).
struct CpuTopology {
  uint32_t apic_id = 0;  ///< initial APIC ID of the asking vCPU (0..254)
  uint32_t count = 1;    ///< vCPUs in the VM (1..8)
};

/// log2 of the smallest power of two >= n (0 for n <= 1): the APIC-ID bits
/// a level of `n` units takes (SDM Vol. 3A §9.9, topology enumeration).
constexpr uint32_t topology_bits(uint32_t n) {
  uint32_t b = 0;
  while ((1u << b) < n) ++b;
  return b;
}

/// The guest's CPUID(leaf, subleaf) on the vCPU `topo` describes:
/// * leaf 1: EBX[31:24] = initial APIC ID; EBX[23:16] = 2^topology_bits(count)
///   addressable logical processor IDs and EDX[28] (HTT) set when count > 1,
///   else 1 and HTT clear (SDM Vol. 2A, CPUID leaf 01H);
/// * leaf 0xB (only when count > 1; the maximum basic leaf is then 0xB, and
///   leaves 8-0xA read zero): subleaf 0 the SMT level (EAX = 0 shift, EBX = 1
///   thread, ECX[15:8] = 1), subleaf 1 the core level (EAX = topology_bits(count),
///   EBX = count, ECX[15:8] = 2), higher subleaves invalid (EBX = 0, ECX[15:8] = 0,
///   ECX[7:0] = subleaf); EDX = x2APIC ID in each (SDM Vol. 2A, leaf 0BH);
/// * AMD hosts, count > 1: 0x80000008 ECX[7:0] = count - 1 (NC) and ECX[15:12]
///   = topology_bits(count) (ApicIdCoreIdSize), 0x80000001 ECX[1] CmpLegacy
///   (AMD APM Vol. 3, E.4.7 and E.4.2).
CpuidRegs guest_cpuid(HostCpuid host, uint32_t leaf, uint32_t subleaf, const CpuTopology& topo = {});

}  // namespace cos::simple_vmm
