// vmrt MMIO emulation (src/components/lib/vmrt/mmio.*) and GuestAccess:
// unassigned guest-physical memory reads all ones and drops writes, device
// accesses reach the bus, and what cannot be emulated becomes the #UD/#GP/
// #PF the table in mmio.hpp lists — never a VMM failure.
#include <gtest/gtest.h>

#include "cos/abi.hpp"
#include "unit/vmrt_cpu_fixture.hpp"
#include "vmrt/mmio.hpp"

namespace {

using vmrt::MmioOutcome;
using vmrt::Seg;
using vmrt_test::CpuFixture;
using vmrt_test::FakeBus;
namespace vm = cos::vm;

constexpr uint64_t kHole = 0x200000;  // not RAM, no device (unless a test adds one)

class MmioTest : public CpuFixture {
 protected:
  vmrt::MmioResult run(const vmrt::PhysBus* bus = nullptr) {
    auto r = vmrt::emulate_mmio(v, bus);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : vmrt::errc_name(r.error().code));
    return r.ok() ? r.value() : vmrt::MmioResult{};
  }
};

TEST_F(MmioTest, UnassignedReadsAllOnes) {
  protected_mode();
  code(0x1000, "8b 05 10 00 20 00");  // mov 0x200010, %eax
  page->regs.rax = 0x1234'5678'0000'0000ull;
  gpa_exit(kHole + 0x10, vm::kAccessRead, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rax, 0xffffffffull);  // a 32-bit load zero-extends
  EXPECT_EQ(page->regs.rip, 0x1006u);
  EXPECT_EQ(r.gpa, kHole + 0x10);
  code(0x1006, "66 0f b6 1d 11 00 20 00");  // movzbw 0x200011, %bx
  page->regs.rbx = 0x5555'0000;
  gpa_exit(kHole + 0x11, vm::kAccessRead, 0x1006);
  run();
  EXPECT_EQ(page->regs.rbx, 0x5555'00ffull);
}

TEST_F(MmioTest, UnassignedWritesAreDroppedAndDevicesSeeTheirs) {
  protected_mode();
  code(0x1000, "c7 05 20 00 20 00 78 56 34 12");  // movl $0x12345678, 0x200020
  gpa_exit(kHole + 0x20, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rip, 0x100au);
  FakeBus dev;
  dev.base = kHole;
  dev.size = 0x1000;
  vmrt::PhysBus bus = dev.bus();
  gpa_exit(kHole + 0x20, vm::kAccessWrite, 0x1000);
  run(&bus);
  ASSERT_EQ(dev.log.size(), 1u);
  EXPECT_TRUE(dev.log[0].write);
  EXPECT_EQ(dev.log[0].gpa, kHole + 0x20);
  EXPECT_EQ(dev.log[0].size, 4u);
  EXPECT_EQ(dev.log[0].value, 0x12345678u);
  code(0x1000, "8b 05 20 00 20 00");
  gpa_exit(kHole + 0x20, vm::kAccessRead, 0x1000);
  run(&bus);
  EXPECT_EQ(page->regs.rax, 0x55667788u);  // the device's value, 4 bytes
}

TEST_F(MmioTest, XchgAndLockedReadModifyWrite) {
  long_mode();
  code(0x1000, "87 04 25 00 00 20 00");  // xchg %eax, 0x200000
  page->regs.rax = 0x42;
  gpa_exit(kHole, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rax, 0xffffffffu);
  code(0x1000, "f0 83 0c 25 00 00 20 00 01");  // lock orl $1, 0x200000
  gpa_exit(kHole, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rip, 0x1009u);
  EXPECT_TRUE(page->regs.rflags & (1u << 7));  // SF from the all-ones value
}

TEST_F(MmioTest, UnemulatedInstructionsGetUd) {
  long_mode();
  struct Case {
    const char* bytes;
    const char* what;
  } cases[] = {
      {"0f 28 04 25 00 00 20 00", "movaps (SSE)"},
      {"66 0f 6f 04 25 00 00 20 00", "movdqa (SSE2)"},
      {"c5 f8 28 04 25 00 00 20 00", "vmovaps (AVX)"},
      {"ff 34 25 00 00 20 00", "push mem"},
      {"f6 24 25 00 00 20 00", "mul mem"},
      {"0f c7 0c 25 00 00 20 00", "cmpxchg8b"},
  };
  for (const Case& c : cases) {
    code(0x1000, c.bytes);
    gpa_exit(kHole, vm::kAccessRead, 0x1000);
    auto r = run();
    EXPECT_EQ(r.outcome, MmioOutcome::fault) << c.what;
    EXPECT_TRUE(injected(vmrt::kVectorUd)) << c.what;
    EXPECT_EQ(page->inject.has_error_code, 0u);
    EXPECT_EQ(page->regs.rip, 0x1000u) << c.what;
    EXPECT_GT(std::string(r.why).size(), 0u);
  }
  code(0x1000, "a6");  // cmpsb
  page->regs.rsi = kHole;
  page->regs.rdi = 0x2000;
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorUd));
  EXPECT_EQ(page->regs.rsi, kHole);
}

TEST_F(MmioTest, CmpxchgXaddAndUnaryOperationsOnTheEmptyBus) {
  long_mode();
  code(0x1000, "f0 0f b1 0c 25 00 00 20 00");  // lock cmpxchg %ecx, 0x200000
  page->regs.rax = 0x42;
  gpa_exit(kHole, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rax, 0xffffffffu);  // mismatch: the accumulator gets the operand
  EXPECT_FALSE(page->regs.rflags & (1u << 6));
  page->regs.rax = 0xffffffff;
  gpa_exit(kHole, vm::kAccessWrite, 0x1000);
  run();
  EXPECT_TRUE(page->regs.rflags & (1u << 6));  // ZF: equal
  code(0x1000, "f0 0f c1 0c 25 00 00 20 00");  // lock xadd %ecx, 0x200000
  page->regs.rcx = 1;
  gpa_exit(kHole, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rcx, 0xffffffffu);
  EXPECT_TRUE(page->regs.rflags & 1u);  // CF from 0xffffffff + 1
  code(0x1000, "ff 04 25 00 00 20 00");  // incl 0x200000
  gpa_exit(kHole, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rip, 0x1007u);
  EXPECT_TRUE(page->regs.rflags & (1u << 6));  // 0xffffffff + 1 = 0, CF kept
  EXPECT_TRUE(page->regs.rflags & 1u);
}

TEST_F(MmioTest, RepMovsFromADeviceIsBoundedAndResumable) {
  protected_mode();
  FakeBus dev;
  dev.base = kHole;
  dev.size = 0x1000;
  vmrt::PhysBus bus = dev.bus();
  code(0x1000, "f3 a5");  // rep movsl
  page->regs.rsi = kHole;
  page->regs.rdi = 0x3000;
  page->regs.rcx = 10;
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  auto r = vmrt::emulate_mmio(v, &bus, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().outcome, MmioOutcome::partial);
  EXPECT_EQ(r.value().elements, 4u);
  EXPECT_EQ(page->regs.rcx, 6u);
  EXPECT_EQ(page->regs.rsi, kHole + 16);
  EXPECT_EQ(page->regs.rdi, 0x3010u);
  EXPECT_EQ(page->regs.rip, 0x1000u);
  EXPECT_EQ(dev.log.size(), 4u);
  uint32_t w = 0;
  ASSERT_TRUE(g.mem.read(0x300c, &w, 4).ok());
  EXPECT_EQ(w, 0x55667788u);
  gpa_exit(kHole + 16, vm::kAccessRead, 0x1000);
  r = vmrt::emulate_mmio(v, &bus, 100);
  EXPECT_EQ(r.value().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rcx, 0u);
  EXPECT_EQ(page->regs.rip, 0x1002u);
  EXPECT_EQ(dev.log.size(), 10u);
}

TEST_F(MmioTest, StosDownwardAndLodsOnTheEmptyBus) {
  protected_mode();
  code(0x1000, "66 f3 ab");  // rep stosw
  page->regs.rflags |= 1u << 10;
  page->regs.rdi = kHole + 6;
  page->regs.rcx = 4;
  page->regs.rax = 0xbeef;
  gpa_exit(kHole + 6, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rdi, kHole - 2);
  EXPECT_EQ(page->regs.rcx, 0u);
  page->regs.rflags &= ~(1ull << 10);
  code(0x1000, "ac");  // lodsb
  page->regs.rsi = kHole;
  page->regs.rax = 0x1234'5600ull;
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rax, 0x1234'56ffull);
  EXPECT_EQ(page->regs.rsi, kHole + 1);
  EXPECT_EQ(page->regs.rip, 0x1001u);
}

TEST_F(MmioTest, MovsChecksTheDestinationBeforeReadingTheDevice) {
  long_mode();
  FakeBus dev;
  dev.base = kHole;
  dev.size = 0x1000;
  vmrt::PhysBus bus = dev.bus();
  code(0x1000, "f3 a4");  // rep movsb into the unmapped page after kHighGva
  page->regs.rsi = kHole;
  page->regs.rdi = kHighGva + 0xffe;
  page->regs.rcx = 5;
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  auto r = run(&bus);
  EXPECT_EQ(r.outcome, MmioOutcome::fault);
  EXPECT_EQ(r.elements, 2u);
  EXPECT_TRUE(injected(vmrt::kVectorPf));
  EXPECT_EQ(page->cr2, kHighGva + 0x1000);
  EXPECT_EQ(page->regs.rcx, 3u);
  EXPECT_EQ(dev.log.size(), 2u);  // the third byte was never read
  EXPECT_EQ(page->regs.rip, 0x1000u);
}

TEST_F(MmioTest, StringMoveThatMissesTheFaultingPageIsGp) {
  protected_mode();
  code(0x1000, "a4");  // movsb between two RAM pages
  page->regs.rsi = 0x2000;
  page->regs.rdi = 0x3000;
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  EXPECT_EQ(page->regs.rsi, 0x2000u);
}

// An exit that interrupted an event delivery (its IDT, stack or page tables
// are not RAM): the access was the delivery's, whatever the instruction at
// rip is; the guest gets #GP(0), which the kernel combines with the event.
TEST_F(MmioTest, AnExitDuringEventDeliveryIsTheDeliverysFault) {
  long_mode();
  code(0x1000, "0f 0b");  // ud2: its #UD was being delivered through an IDT in the hole
  gpa_exit(kHole + 0x60, vm::kAccessRead, 0x1000);
  page->exit.during_delivery = 1;
  auto r = run();
  EXPECT_EQ(r.outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  EXPECT_EQ(page->inject.has_error_code, 1u);
  EXPECT_EQ(page->inject.error_code, 0u);
  EXPECT_EQ(page->regs.rip, 0x1000u);
  // The same exit outside a delivery is the instruction's: #UD for an
  // instruction vmrt does not perform.
  page->exit.during_delivery = 0;
  gpa_exit(kHole + 0x60, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorUd));
}

TEST_F(MmioTest, TooLongIsGpAndExecutionIsUd) {
  long_mode();
  code(0x1000, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 8b 04 25 00 00 20 00");
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  page->regs.rip = kHole;
  gpa_exit(kHole, vm::kAccessExec, kHole);
  EXPECT_EQ(run().outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorUd));
}

TEST_F(MmioTest, UnfetchableInstructionIsThePageFault) {
  long_mode();
  // The instruction starts 3 bytes before the end of the mapped page at
  // kHighGva: its 4th byte is on an unmapped page.
  code(kHighGpa + 0xffd, "8b 04 25");
  gpa_exit(kHole, vm::kAccessRead, kHighGva + 0xffd);
  auto r = run();
  EXPECT_EQ(r.outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorPf));
  EXPECT_EQ(page->cr2, kHighGva + 0x1000);
  EXPECT_EQ(page->inject.error_code, vmrt::kPfFetch);
}

TEST_F(MmioTest, PageTablesOutsideRamGiveAReservedBitFault) {
  long_mode();
  // Point the PML4 entry of 0x8000000000 (512 GiB) at a table outside RAM.
  uint64_t entry = kHole | vmrt::kPtePresent | vmrt::kPteWrite;
  ASSERT_TRUE(g.mem.write(page->cr3 + 8, &entry, 8).ok());
  code(0x1000, "48 8b 03");  // mov (%rbx), %rax
  page->regs.rbx = 0x80'0000'0000ull;
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorPf));
  EXPECT_EQ(page->inject.error_code, vmrt::kPfPresent | vmrt::kPfReserved);
  EXPECT_EQ(page->cr2, 0x80'0000'0000ull);
}

TEST_F(MmioTest, ImplicitAccessIsGp) {
  protected_mode();
  code(0x1000, "8b 05 00 20 00 00");  // mov 0x2000, %eax: RAM, not the faulting page
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  EXPECT_EQ(page->regs.rip, 0x1000u);
}

TEST_F(MmioTest, SegmentChecksOfTheOperand) {
  protected_mode();
  vm::Segment ds = page->ds;
  ds.limit = 0xfffff;  // below the hole
  v.set_segment(Seg::ds, ds);
  code(0x1000, "8b 05 00 00 20 00");
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  code(0x1000, "8b 85 00 00 20 00");  // mov 0x200000(%ebp), %eax: SS-relative
  vm::Segment ss = page->ss;
  ss.limit = 0xfffff;
  v.set_segment(Seg::ss, ss);
  page->regs.rbp = 0;
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorSs));
}

TEST_F(MmioTest, AccessAcrossThePageBoundarySplits) {
  protected_mode();
  FakeBus dev;
  dev.base = 0x100000;
  dev.size = 0x1000;
  vmrt::PhysBus bus = dev.bus();
  uint16_t low = 0xbbaa;
  ASSERT_TRUE(g.mem.write(0xffffe, &low, 2).ok());
  code(0x1000, "8b 05 fe ff 0f 00");  // mov 0xffffe, %eax: 2 bytes RAM + 2 device
  gpa_exit(0x100000, vm::kAccessRead, 0x1000);
  EXPECT_EQ(run(&bus).outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rax, 0x7788'bbaau);
  ASSERT_EQ(dev.log.size(), 1u);
  EXPECT_EQ(dev.log[0].size, 2u);
  EXPECT_EQ(dev.log[0].gpa, 0x100000u);
}

TEST_F(MmioTest, RomDropsWrites) {
  protected_mode();
  ASSERT_NE(g.add(kHole, 0x1000, cos::abi::Rights::read | cos::abi::Rights::exec), nullptr);
  uint32_t rom = 0xc0ffee;
  ASSERT_TRUE(g.mem.write(kHole, &rom, 4).ok());
  code(0x1000, "c7 05 00 00 20 00 01 00 00 00");  // movl $1, 0x200000
  page->exit.gpa.present = 1;
  gpa_exit(kHole, vm::kAccessWrite, 0x1000);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  uint32_t now = 0;
  ASSERT_TRUE(g.mem.read(kHole, &now, 4).ok());
  EXPECT_EQ(now, 0xc0ffeeu);
}

TEST_F(MmioTest, RealModeAccessAndIpWrap) {
  real_mode(0, 0x2000);  // ds base 0x20000
  code(0xfffe, "8a 07");  // mov (%bx), %al at ip 0xfffe: the next ip wraps to 0
  uint8_t marker = 0x5a;
  ASSERT_TRUE(g.mem.write(0x21234, &marker, 1).ok());
  page->regs.rbx = 0x1234;
  // (0x21234 is RAM in this fixture: the report's page is what the check uses.)
  gpa_exit(0x21234, vm::kAccessRead, 0xfffe);
  EXPECT_EQ(run().outcome, MmioOutcome::emulated);
  EXPECT_EQ(page->regs.rip, 0u);
  EXPECT_EQ(page->regs.rax & 0xff, 0x5au);
}

TEST_F(MmioTest, NotAGpaFaultIsAnError) {
  protected_mode();
  exit_at(vm::ExitReason::hlt, 1, 0x1000);
  EXPECT_EQ(vmrt::emulate_mmio(v, nullptr).error().code, vmrt::Errc::bad_argument);
  v.set_save_mask(0);
  gpa_exit(kHole, vm::kAccessRead, 0x1000);
  EXPECT_EQ(vmrt::emulate_mmio(v, nullptr).error().code, vmrt::Errc::stale_state);
}

TEST(PageLogFilter, OncePerPageThenOneOverflowNote) {
  vmrt::PageLogFilter f;
  using V = vmrt::PageLogFilter::Verdict;
  EXPECT_EQ(f.check(0x1000), V::log);
  EXPECT_EQ(f.check(0x1ff8), V::quiet);  // same page
  for (unsigned i = 1; i < vmrt::PageLogFilter::kPages; ++i) EXPECT_EQ(f.check(0x100000ull * i), V::log);
  EXPECT_EQ(f.logged(), vmrt::PageLogFilter::kPages);
  EXPECT_EQ(f.check(0xdead0000), V::overflow);
  EXPECT_EQ(f.check(0xbeef0000), V::quiet);
  EXPECT_EQ(f.check(0x1000), V::quiet);
}

}  // namespace
