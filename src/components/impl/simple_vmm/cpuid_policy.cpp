#include "simple_vmm/cpuid_policy.hpp"

namespace cos::simple_vmm {
namespace {

constexpr uint32_t bit(unsigned n) { return 1u << n; }

// Leaf 1 ECX: what the VMM cannot offer (monitor/mwait, VMX, SMX, SpeedStep,
// thermal, debug store, PCID, DCA, XSAVE/OSXSAVE/AVX/F16C: no XCR0 switching).
constexpr uint32_t kLeaf1EcxHide = bit(3) | bit(4) | bit(5) | bit(6) | bit(7) | bit(8) | bit(11) | bit(15) |
                                   bit(17) | bit(18) | bit(26) | bit(27) | bit(28) | bit(29);
constexpr uint32_t kLeaf1EcxHypervisor = bit(31);
// Leaf 1 EDX: machine check, MTRRs, ACPI thermal, debug store, HTT, TM, PBE.
constexpr uint32_t kLeaf1EdxHide = bit(7) | bit(12) | bit(14) | bit(21) | bit(22) | bit(28) | bit(29) | bit(31);
// Leaf 7.0 EBX: keep FSGSBASE(0), BMI1(3), SMEP(7), BMI2(8), ERMS(9), ADX(19),
// SMAP(20), CLFLUSHOPT(23), CLWB(24), SHA(29); everything else (TSX, AVX2,
// AVX-512, MPX, SGX, RDT, INVPCID...) is hidden.
constexpr uint32_t kLeaf7EbxKeep = bit(0) | bit(3) | bit(7) | bit(8) | bit(9) | bit(19) | bit(20) | bit(23) |
                                   bit(24) | bit(29);
// 0x80000001 ECX: keep LAHF(0), CMP_LEGACY? no; ABM/LZCNT(5), SSE4A(6),
// MisalignSSE(7), 3DNowPrefetch(8); hide SVM(2), ExtApicSpace(3), SKINIT(12),
// WDT(13), TOPOEXT(22), perf counters (23, 24, 28).
constexpr uint32_t kExt1EcxKeep = bit(0) | bit(5) | bit(6) | bit(7) | bit(8);
// 0x80000001 EDX: keep the architectural long-mode bits Linux needs.
constexpr uint32_t kExt1EdxKeep = bit(0) | bit(1) | bit(3) | bit(4) | bit(5) | bit(6) | bit(8) | bit(9) | bit(11) |
                                  bit(13) | bit(15) | bit(16) | bit(17) | bit(19) | bit(20) | bit(23) | bit(24) |
                                  bit(25) | bit(26) | bit(27) | bit(29);

uint32_t sig_word(unsigned i) {
  const char* s = kHypervisorSignature + 4 * i;
  return static_cast<uint32_t>(static_cast<uint8_t>(s[0])) | static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[3])) << 24;
}

}  // namespace

CpuidRegs guest_cpuid(HostCpuid host, uint32_t leaf, uint32_t subleaf, const CpuTopology& topo) {
  constexpr uint32_t kMaxBasic = 7, kMaxExtended = 0x80000008, kTopologyLeaf = 0xb;
  const bool smp = topo.count > 1;
  const uint32_t apic_id = topo.apic_id & 0xff;
  const CpuidRegs vendor = host(0, 0);
  const bool amd = vendor.ebx == 0x68747541 && vendor.edx == 0x69746e65 && vendor.ecx == 0x444d4163;  // "AuthenticAMD"
  if (smp && leaf == kTopologyLeaf) {
    if (subleaf == 0) return CpuidRegs{0, 1, (1u << 8) | 0, topo.apic_id};
    if (subleaf == 1) return CpuidRegs{topology_bits(topo.count), topo.count, (2u << 8) | 1, topo.apic_id};
    return CpuidRegs{0, 0, subleaf & 0xff, topo.apic_id};
  }
  if (leaf >= 0x40000000 && leaf < 0x80000000) {
    // The KVM paravirtual interface, limited to the clock (kvmclock.hpp).
    if (leaf == 0x40000000) return CpuidRegs{0x40000001, sig_word(0), sig_word(1), sig_word(2)};
    if (leaf == 0x40000001) return CpuidRegs{(1u << 3) | (1u << 24), 0, 0, 0};
    return CpuidRegs{0, 0, 0, 0};
  }
  if (leaf >= 0x80000000) {
    CpuidRegs top = host(0x80000000, 0);
    uint32_t max_ext = top.eax < kMaxExtended ? top.eax : kMaxExtended;
    if (leaf > max_ext) return CpuidRegs{0, 0, 0, 0};
    CpuidRegs r = host(leaf, subleaf);
    switch (leaf) {
      case 0x80000000: r.eax = max_ext; break;
      case 0x80000001:
        r.ecx &= kExt1EcxKeep;
        r.edx &= kExt1EdxKeep;
        if (amd && smp) r.ecx |= bit(1);  // CmpLegacy: HTT counts cores
        break;
      case 0x80000002: case 0x80000003: case 0x80000004: break;  // brand string
      case 0x80000007: r = CpuidRegs{0, 0, 0, r.edx & bit(8)}; break;  // invariant TSC only
      case 0x80000008:  // address sizes; the cores of the package (AMD)
        r.ebx = 0;
        r.ecx = amd && smp ? ((topo.count - 1) & 0xff) | (topology_bits(topo.count) << 12) : 0;
        r.edx = 0;
        break;
      default: r = CpuidRegs{0, 0, 0, 0}; break;  // cache/TLB details, SVM features: none
    }
    return r;
  }
  uint32_t max_basic = vendor.eax < kMaxBasic ? vendor.eax : kMaxBasic;
  if (smp) max_basic = kTopologyLeaf;  // the topology leaf is the VMM's own
  if (leaf > max_basic) return CpuidRegs{0, 0, 0, 0};
  CpuidRegs r = host(leaf, subleaf);
  switch (leaf) {
    case 0: r.eax = max_basic; break;
    case 1:
      // EBX: the initial APIC ID, the addressable logical processor IDs of
      // the package; keep CLFLUSH size and brand. HTT with more than one.
      r.ebx = (r.ebx & 0x0000ffffu) | (apic_id << 24) | ((smp ? 1u << topology_bits(topo.count) : 1u) << 16);
      // TSC-deadline (bit 24) is offered: the local APIC model implements it.
      r.ecx = (r.ecx & ~kLeaf1EcxHide) | kLeaf1EcxHypervisor | bit(24);
      r.edx &= ~kLeaf1EdxHide;
      if (smp) r.edx |= bit(28);
      break;
    case 2: case 3: break;
    case 7:
      if (subleaf == 0) r = CpuidRegs{0, r.ebx & kLeaf7EbxKeep, 0, 0};
      else r = CpuidRegs{0, 0, 0, 0};
      break;
    default:
      r = CpuidRegs{0, 0, 0, 0};  // 4 (caches), 5 (monitor), 6 (power): nothing to offer
      break;
  }
  return r;
}

}  // namespace cos::simple_vmm
