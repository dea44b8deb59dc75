// simple_vmm's CPUID policy: the per-vCPU topology a multi-vCPU guest sees
// (leaf 1 APIC ID / logical processor count / HTT, leaf 0xB levels, AMD's
// 0x80000008 core count), and that one vCPU keeps the one-CPU answers.
#include <gtest/gtest.h>

#include "simple_vmm/cpuid_policy.hpp"

using cos::simple_vmm::CpuidRegs;
using cos::simple_vmm::CpuTopology;
using cos::simple_vmm::guest_cpuid;
using cos::simple_vmm::topology_bits;

namespace {

// Fake hosts: maximum basic leaf 0xd, leaf 1 with APIC ID 5, 16 logical
// processors and HTT (which the guest must not inherit), 0x80000008 with a
// host core count.
CpuidRegs host_common(uint32_t leaf, uint32_t, bool amd) {
  switch (leaf) {
    case 0:
      return amd ? CpuidRegs{0xd, 0x68747541, 0x444d4163, 0x69746e65}   // AuthenticAMD
                 : CpuidRegs{0xd, 0x756e6547, 0x6c65746e, 0x49656e69};  // GenuineIntel
    case 1: return CpuidRegs{0x000806f8, 0x05100800, 0x80200000, 0x178bfbff};
    case 0xb: return CpuidRegs{1, 2, 0x100, 5};  // the host's own topology: never shown
    case 0x80000000: return CpuidRegs{0x80000008, 0, 0, 0};
    case 0x80000001: return CpuidRegs{0, 0, 0x2, 0};
    case 0x80000008: return CpuidRegs{0x3030, 0, 0x700f, 0};
    default: return CpuidRegs{0, 0, 0, 0};
  }
}
CpuidRegs amd_host(uint32_t leaf, uint32_t sub) { return host_common(leaf, sub, true); }
CpuidRegs intel_host(uint32_t leaf, uint32_t sub) { return host_common(leaf, sub, false); }

TEST(SimpleVmmCpuid, TopologyBits) {
  EXPECT_EQ(topology_bits(1), 0u);
  EXPECT_EQ(topology_bits(2), 1u);
  EXPECT_EQ(topology_bits(3), 2u);
  EXPECT_EQ(topology_bits(4), 2u);
  EXPECT_EQ(topology_bits(5), 3u);
  EXPECT_EQ(topology_bits(8), 3u);
}

TEST(SimpleVmmCpuid, OneVcpuKeepsTheOneCpuAnswers) {
  for (auto host : {amd_host, intel_host}) {
    CpuidRegs r = guest_cpuid(host, 1, 0);
    EXPECT_EQ(r.ebx >> 24, 0u);             // APIC ID 0
    EXPECT_EQ((r.ebx >> 16) & 0xff, 1u);    // one logical processor
    EXPECT_EQ(r.ebx & 0xffff, 0x0800u);     // CLFLUSH size kept
    EXPECT_EQ(r.edx & (1u << 28), 0u);      // no HTT
    EXPECT_EQ(guest_cpuid(host, 0, 0).eax, 7u);
    EXPECT_EQ(guest_cpuid(host, 0xb, 0).ebx, 0u);  // no topology leaf
    EXPECT_EQ(guest_cpuid(host, 0x80000008, 0).ecx, 0u);
    EXPECT_EQ(guest_cpuid(host, 0x80000001, 0).ecx & 0x2, 0u);
  }
}

TEST(SimpleVmmCpuid, Leaf1PerVcpu) {
  for (uint32_t n : {2u, 3u, 8u}) {
    for (uint32_t id = 0; id < n; ++id) {
      CpuidRegs r = guest_cpuid(intel_host, 1, 0, CpuTopology{id, n});
      EXPECT_EQ(r.ebx >> 24, id);
      EXPECT_EQ((r.ebx >> 16) & 0xff, 1u << topology_bits(n)) << n;
      EXPECT_GE((r.ebx >> 16) & 0xff, n);
      EXPECT_NE(r.edx & (1u << 28), 0u);  // HTT: more than one logical processor
      EXPECT_NE(r.ecx & (1u << 31), 0u);  // still the hypervisor bit
    }
  }
}

TEST(SimpleVmmCpuid, Leaf0bDescribesCoresOfOneThread) {
  const uint32_t n = 3;
  EXPECT_EQ(guest_cpuid(amd_host, 0, 0, CpuTopology{0, n}).eax, 0xbu);
  for (uint32_t id = 0; id < n; ++id) {
    CpuTopology t{id, n};
    CpuidRegs smt = guest_cpuid(intel_host, 0xb, 0, t);
    EXPECT_EQ(smt.eax & 0x1f, 0u);
    EXPECT_EQ(smt.ebx & 0xffff, 1u);
    EXPECT_EQ((smt.ecx >> 8) & 0xff, 1u);  // SMT
    EXPECT_EQ(smt.ecx & 0xff, 0u);
    EXPECT_EQ(smt.edx, id);
    CpuidRegs core = guest_cpuid(intel_host, 0xb, 1, t);
    EXPECT_EQ(core.eax & 0x1f, 2u);  // 3 cores take 2 APIC-ID bits
    EXPECT_EQ(core.ebx & 0xffff, n);
    EXPECT_EQ((core.ecx >> 8) & 0xff, 2u);  // core
    EXPECT_EQ(core.ecx & 0xff, 1u);
    EXPECT_EQ(core.edx, id);
    CpuidRegs end = guest_cpuid(intel_host, 0xb, 2, t);
    EXPECT_EQ(end.ebx, 0u);
    EXPECT_EQ((end.ecx >> 8) & 0xff, 0u);  // invalid: the enumeration ends
    EXPECT_EQ(end.ecx & 0xff, 2u);
    EXPECT_EQ(end.edx, id);
  }
  // Leaves between 7 and 0xB are the VMM's zeros, not the host's.
  EXPECT_EQ(guest_cpuid(intel_host, 0xa, 0, CpuTopology{0, n}).eax, 0u);
}

TEST(SimpleVmmCpuid, AmdCoreCount) {
  CpuidRegs r = guest_cpuid(amd_host, 0x80000008, 0, CpuTopology{1, 4});
  EXPECT_EQ(r.ecx & 0xff, 3u);           // NC = cores - 1
  EXPECT_EQ((r.ecx >> 12) & 0xf, 2u);    // ApicIdCoreIdSize
  EXPECT_EQ(r.eax, 0x3030u);             // address sizes kept
  EXPECT_NE(guest_cpuid(amd_host, 0x80000001, 0, CpuTopology{1, 4}).ecx & 0x2, 0u);  // CmpLegacy
  // Intel: those fields stay reserved (zero).
  EXPECT_EQ(guest_cpuid(intel_host, 0x80000008, 0, CpuTopology{1, 4}).ecx, 0u);
  EXPECT_EQ(guest_cpuid(intel_host, 0x80000001, 0, CpuTopology{1, 4}).ecx & 0x2, 0u);
}

}  // namespace
