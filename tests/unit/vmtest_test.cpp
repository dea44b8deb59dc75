// vmtest's host-compilable parts (src/components/lib/vmtest): the empty PC's
// CPUID view and exit answers, IDT gates and segment descriptors.
#include <gtest/gtest.h>

#include "vmrt_cpu_fixture.hpp"
#include "vmtest/guest_setup.hpp"
#include "vmtest/pc.hpp"

namespace {

namespace vm = cos::vm;
using vmtest::CpuidRegs;
namespace bits = vmtest::cpuid_bits;

/// A host with every feature bit set and maxima 0xd / 0x8000000a.
CpuidRegs everything(uint32_t leaf, uint32_t) {
  if (leaf == 0) return {0xd, 0x756e6547, 0x6c65746e, 0x49656e69};  // GenuineIntel
  if (leaf == 0x80000000) return {0x8000000a, 0, 0, 0};
  return {~0u, ~0u, ~0u, ~0u};
}

TEST(VmtestCpuid, HidesVirtualizationAndWhatTheEmptyPcLacks) {
  const CpuidRegs l1 = vmtest::pc_cpuid(everything, 1, 0);
  EXPECT_EQ(l1.ecx & bits::kLeaf1EcxVmx, 0u);
  EXPECT_EQ(l1.ecx & bits::kLeaf1EcxSmx, 0u);
  EXPECT_EQ(l1.ecx & bits::kLeaf1EcxMonitor, 0u);
  EXPECT_EQ(l1.ecx & bits::kLeaf1EcxXsave, 0u);
  EXPECT_EQ(l1.ecx & bits::kLeaf1EcxX2apic, 0u);
  EXPECT_NE(l1.ecx & bits::kLeaf1EcxHypervisor, 0u);
  EXPECT_EQ(vmtest::pc_cpuid(everything, 0x80000001, 0).ecx & bits::kExt1EcxSvm, 0u);
  for (uint32_t leaf : {5u, 0xau, 0xdu, 0x8000000au, 0x40000000u, 0x4fffffffu, 0xeu, 0x8000000bu}) {
    const CpuidRegs r = vmtest::pc_cpuid(everything, leaf, 0);
    EXPECT_EQ(r.eax | r.ebx | r.ecx | r.edx, 0u) << std::hex << leaf;
  }
  EXPECT_EQ(vmtest::pc_cpuid(everything, 7, 1).ebx, 0u);  // only subleaf 0
}

TEST(VmtestCpuid, ChecksumFoldsEveryRegisterInOrder) {
  const uint32_t a = vmtest::cpuid_checksum(0, {1, 2, 3, 4});
  EXPECT_NE(a, vmtest::cpuid_checksum(0, {2, 1, 3, 4}));
  EXPECT_EQ(a, vmtest::cpuid_checksum(0, {1, 2, 3, 4}));
}

TEST(VmtestGuestSetup, Gates) {
  uint8_t g[16];
  vmtest::gate64(g, 0x1122334455667788ull, 0x20, vmtest::gate::kInterrupt64, 1);
  const uint8_t want64[16] = {0x88, 0x77, 0x20, 0x00, 0x01, 0x8e, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0};
  EXPECT_EQ(0, std::memcmp(g, want64, 16));
  vmtest::gate32(g, 0x12345678, 0x10, vmtest::gate::kTrap32);
  const uint8_t want32[8] = {0x78, 0x56, 0x10, 0x00, 0x00, 0x8f, 0x34, 0x12};
  EXPECT_EQ(0, std::memcmp(g, want32, 8));
  // A flat DPL 3 64-bit code segment: limit 0xfffff, P, DPL 3, S, code, L, G.
  EXPECT_EQ(vmtest::segment_descriptor(0, 0xfffff, 0xafb), 0x00affb000000ffffull);
}

class VmtestPc : public vmrt_test::CpuFixture {
 protected:
  void SetUp() override {
    CpuFixture::SetUp();
    pc.init(everything);
    pc.attach(v);
    long_mode();
  }
  vmtest::EmptyPc pc;
};

TEST_F(VmtestPc, UnknownMsrsAreGpKnownOnesAnswered) {
  page->regs.rcx = 0xc0010114;  // VM_CR
  page->exit.msr.index = 0xc0010114;
  exit_at(vm::ExitReason::msr_read, 2, 0x1000);
  auto a = v.dispatch();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value(), vmrt::Action::resume);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  EXPECT_EQ(pc.stats.msr_gp, 1u);
  page->exit.msr.index = 0x277;  // PAT: the power-on value
  exit_at(vm::ExitReason::msr_read, 2, 0x1000);
  a = v.dispatch();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value(), vmrt::Action::skip);
  EXPECT_EQ(page->regs.rax, 0x00070406u);
  EXPECT_EQ(page->regs.rdx, 0x00070406u);
  EXPECT_EQ(pc.stats.msr_done, 1u);
}

TEST_F(VmtestPc, Cr8KeepsTheTprAndRefusesReservedBits) {
  page->exit.cr = {8, 1, 3, 0};  // mov %rbx, %cr8
  page->regs.rbx = 0x10;
  exit_at(vm::ExitReason::cr_access, 4, 0x1000);
  ASSERT_TRUE(v.dispatch().ok());
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  page->regs.rbx = 9;
  exit_at(vm::ExitReason::cr_access, 4, 0x1000);
  ASSERT_TRUE(v.dispatch().ok());
  page->exit.cr = {8, 0, 2, 0};  // mov %cr8, %rdx
  exit_at(vm::ExitReason::cr_access, 4, 0x1004);
  ASSERT_TRUE(v.dispatch().ok());
  EXPECT_EQ(page->regs.rdx, 9u);
  EXPECT_EQ(pc.stats.cr8_gp, 1u);
  EXPECT_EQ(pc.stats.unexpected, 0u);
}

TEST_F(VmtestPc, HypercallsAndUnknownExitsAreUdOrTheEnd) {
  exit_at(vm::ExitReason::hypercall, 3, 0x1000);
  ASSERT_TRUE(v.dispatch().ok());
  EXPECT_TRUE(injected(vmrt::kVectorUd));
  exit_at(vm::ExitReason::rdtsc, 2, 0x1000);
  auto a = v.dispatch();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.value(), vmrt::Action::stop);
  EXPECT_EQ(pc.stats.unexpected, 1u);
}

}  // namespace
