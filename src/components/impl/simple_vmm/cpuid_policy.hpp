// What the guest sees for CPUID: the host's answers with everything the VMM
// does not virtualize removed, the hypervisor bit set, VMX/SVM hidden and a
// single-CPU topology. Pure logic (the VMM supplies the host's raw values),
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

/// The guest's CPUID(leaf, subleaf).
CpuidRegs guest_cpuid(HostCpuid host, uint32_t leaf, uint32_t subleaf);

}  // namespace cos::simple_vmm
