// vmrt port I/O emulation (src/components/lib/vmrt/string_io.*): IN/OUT,
// INS/OUTS in every size, direction, address size and segment, bounded and
// resumable REP, and the faults a bad string pointer gives the guest.
#include <gtest/gtest.h>

#include <vector>

#include "unit/vmrt_cpu_fixture.hpp"
#include "vmrt/string_io.hpp"

namespace {

using vmrt::IoOutcome;
using vmrt::Reg;
using vmrt::Seg;
using vmrt_test::CpuFixture;
using vmrt_test::FakeBus;
namespace vm = cos::vm;

/// A port device: IN returns 0x40, 0x41, ... (masked to the size); every
/// access is recorded.
struct Ports {
  struct Access {
    uint16_t port;
    unsigned size;
    bool out;
    uint32_t value;
  };
  std::vector<Access> log;
  uint32_t next = 0x40;

  vmrt::PortIo io() {
    vmrt::PortIo p;
    p.ctx = this;
    p.in = [](void* c, uint16_t port, unsigned size) -> uint32_t {
      auto* s = static_cast<Ports*>(c);
      uint32_t v = s->next++;
      s->log.push_back({port, size, false, v});
      return v | 0xabcd0000u;  // bits above `size` must be ignored
    };
    p.out = [](void* c, uint16_t port, unsigned size, uint32_t value) {
      static_cast<Ports*>(c)->log.push_back({port, size, true, value});
    };
    return p;
  }
};

class StringIoTest : public CpuFixture {
 protected:
  vmrt::IoResult run(uint64_t max = vmrt::kStringIoMaxElements, const vmrt::PhysBus* bus = nullptr) {
    auto r = vmrt::emulate_io(v, ports.io(), bus, max);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : vmrt::errc_name(r.error().code));
    return r.ok() ? r.value() : vmrt::IoResult{};
  }
  Ports ports;
};

TEST_F(StringIoTest, InMergesIntoRaxAndOutSendsTheExitData) {
  real_mode();
  page->regs.rax = 0x1111'2222'3333'4444ull;
  io_exit(0x60, 1, true, false, false, 1, 0);
  EXPECT_EQ(run().outcome, IoOutcome::done);
  EXPECT_EQ(page->regs.rax, 0x1111'2222'3333'4440ull);
  io_exit(0x60, 2, true, false, false, 1, 0);
  run();
  EXPECT_EQ(page->regs.rax, 0x1111'2222'3333'0041ull);
  io_exit(0x60, 4, true, false, false, 1, 0);
  run();
  EXPECT_EQ(page->regs.rax, 0xabcd'0042ull);  // all 32 bits, zero-extended into RAX
  io_exit(0x80, 2, false, false, false, 2, 0, 0xbeef);
  EXPECT_EQ(run().outcome, IoOutcome::done);
  ASSERT_EQ(ports.log.size(), 4u);
  EXPECT_TRUE(ports.log[3].out);
  EXPECT_EQ(ports.log[3].port, 0x80);
  EXPECT_EQ(ports.log[3].value, 0xbeefu);
  EXPECT_EQ(vmrt::io_action(IoOutcome::done), vmrt::Action::skip);
  EXPECT_EQ(vmrt::io_action(IoOutcome::partial), vmrt::Action::resume);
}

TEST_F(StringIoTest, RepInsWithAHugeCountIsBoundedAndResumable) {
  long_mode();
  code(0x1000, "f3 6c");  // rep insb (%dx), %es:(%rdi)
  page->regs.rcx = ~0ull;
  page->regs.rdi = 0x20000;
  page->regs.rdx = 0x1f0;
  io_exit(0x1f0, 1, true, true, true, 2, 0x1000);
  auto r = run(16);
  EXPECT_EQ(r.outcome, IoOutcome::partial);
  EXPECT_EQ(r.elements, 16u);
  EXPECT_EQ(page->regs.rcx, ~0ull - 16);
  EXPECT_EQ(page->regs.rdi, 0x20010u);
  EXPECT_EQ(page->regs.rip, 0x1000u);  // the guest executes it again
  ASSERT_EQ(ports.log.size(), 16u);
  for (unsigned i = 0; i < 16; ++i) {
    EXPECT_EQ(ports.log[i].port, 0x1f0);
    EXPECT_EQ(byte_at(0x20000 + i), 0x40 + i);
  }
  // The re-executed instruction exits again and goes on from there.
  io_exit(0x1f0, 1, true, true, true, 2, 0x1000);
  r = run(16);
  EXPECT_EQ(r.outcome, IoOutcome::partial);
  EXPECT_EQ(page->regs.rcx, ~0ull - 32);
  EXPECT_EQ(page->regs.rdi, 0x20020u);
  EXPECT_EQ(byte_at(0x20010), 0x50);
}

TEST_F(StringIoTest, RepInsCompletesWithinTheBound) {
  protected_mode();
  code(0x1000, "f3 66 6d");  // rep insw
  page->regs.rcx = 3;
  page->regs.rdi = 0x2000;
  io_exit(0x1f0, 2, true, true, true, 3, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, IoOutcome::done);
  EXPECT_EQ(r.elements, 3u);
  EXPECT_EQ(page->regs.rcx, 0u);
  EXPECT_EQ(page->regs.rdi, 0x2006u);
  EXPECT_EQ(byte_at(0x2000), 0x40);
  EXPECT_EQ(byte_at(0x2001), 0x00);
  EXPECT_EQ(byte_at(0x2004), 0x42);
}

TEST_F(StringIoTest, DirectionFlagMovesDown) {
  protected_mode();
  code(0x1000, "f3 6f");  // rep outsl
  for (uint32_t i = 0; i < 4; ++i) {
    uint32_t w = 0x1000 * (i + 1);
    ASSERT_TRUE(g.mem.write(0x3000 + 4 * i, &w, 4).ok());
  }
  page->regs.rflags |= 1u << 10;  // DF
  page->regs.rsi = 0x300c;
  page->regs.rcx = 4;
  io_exit(0x3f8, 4, false, true, true, 2, 0x1000);
  auto r = run(3);  // three now, one after re-execution
  EXPECT_EQ(r.outcome, IoOutcome::partial);
  EXPECT_EQ(page->regs.rsi, 0x3000u);
  io_exit(0x3f8, 4, false, true, true, 2, 0x1000);
  EXPECT_EQ(run(3).outcome, IoOutcome::done);
  EXPECT_EQ(page->regs.rsi, 0x2ffcu);
  EXPECT_EQ(page->regs.rcx, 0u);
  ASSERT_EQ(ports.log.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(ports.log[i].value, 0x1000u * (4 - i)) << i;
}

TEST_F(StringIoTest, SixteenBitAddressesWrapAndKeepTheUpperHalf) {
  protected_mode();
  code(0x1000, "67 f3 6e");  // addr16 rep outsb
  page->regs.rsi = 0x1234'fffeull;
  page->regs.rcx = 0xabcd'0004ull;
  uint8_t b[2] = {0x11, 0x22};
  ASSERT_TRUE(g.mem.write(0xfffe, b, 2).ok());
  ASSERT_TRUE(g.mem.write(0x0, b, 2).ok());
  io_exit(0x80, 1, false, true, true, 3, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::done);
  EXPECT_EQ(page->regs.rsi, 0x1234'0002ull);
  EXPECT_EQ(page->regs.rcx, 0xabcd'0000ull);
  ASSERT_EQ(ports.log.size(), 4u);
  EXPECT_EQ(ports.log[1].value, 0x22u);
  EXPECT_EQ(ports.log[2].value, 0x11u);  // SI wrapped to 0
}

TEST_F(StringIoTest, ThirtyTwoBitAddressesIn64BitModeZeroExtend) {
  long_mode();
  code(0x1000, "67 f3 6c");  // addr32 rep insb
  page->regs.rdi = 0xffff'0000'ffff'fffeull;
  page->regs.rcx = 0x5555'0000'0000'0004ull;
  io_exit(0x60, 1, true, true, true, 3, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::done);
  EXPECT_EQ(page->regs.rdi, 0x2u);  // EDI wrapped, the upper half cleared
  EXPECT_EQ(page->regs.rcx, 0u);
  EXPECT_EQ(byte_at(kTopGpa + 0xffe), 0x40);  // linear 0xfffffffe
  EXPECT_EQ(byte_at(0x0), 0x42);
  EXPECT_EQ(byte_at(0x1), 0x43);
}

TEST_F(StringIoTest, OutsTakesTheSegmentOverrideInsDoesNot) {
  protected_mode();
  vm::Segment fs = page->fs;
  fs.base = 0x5000;
  v.set_segment(Seg::fs, fs);
  uint8_t x = 0x77, y = 0x66;
  ASSERT_TRUE(g.mem.write(0x5010, &x, 1).ok());
  ASSERT_TRUE(g.mem.write(0x0010, &y, 1).ok());
  code(0x1000, "64 6e");  // outsb %fs:(%esi)
  page->regs.rsi = 0x10;
  io_exit(0x80, 1, false, true, false, 2, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::done);
  ASSERT_EQ(ports.log.size(), 1u);
  EXPECT_EQ(ports.log[0].value, 0x77u);
  EXPECT_EQ(page->regs.rsi, 0x11u);
  code(0x1000, "64 6c");  // insb: the prefix has no effect, ES:EDI it is
  page->regs.rdi = 0x20;
  io_exit(0x80, 1, true, true, false, 2, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::done);
  EXPECT_EQ(byte_at(0x20), 0x40);
  EXPECT_EQ(byte_at(0x5020), 0x00);
}

TEST_F(StringIoTest, RealModeSegmentLimitGivesGpAfterTheElementsBeforeIt) {
  real_mode();
  code(0x1000, "67 f3 6c");  // addr32 rep insb with ECX = 2^32 - 1
  page->regs.rcx = 0xffffffffull;
  page->regs.rdi = 0xfff0;
  io_exit(0x1f0, 1, true, true, true, 3, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, IoOutcome::fault);
  EXPECT_EQ(r.fault.vector, vmrt::kVectorGp);
  EXPECT_EQ(r.elements, 16u);
  EXPECT_EQ(page->regs.rdi, 0x10000u);
  EXPECT_EQ(page->regs.rcx, 0xffffffffull - 16);
  EXPECT_EQ(page->regs.rip, 0x1000u);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  EXPECT_EQ(page->inject.has_error_code, 1u);
  EXPECT_EQ(page->inject.error_code, 0u);
  EXPECT_EQ(ports.log.size(), 16u);  // the faulting element never read the port
  EXPECT_EQ(vmrt::io_action(r.outcome), vmrt::Action::resume);
}

TEST_F(StringIoTest, PageFaultCarriesCr2AndTheErrorCode) {
  long_mode();
  code(0x1000, "f3 6c");
  page->regs.rdi = kHighGva + 0xff8;  // 8 bytes left in the mapped page
  page->regs.rcx = 100;
  io_exit(0x1f0, 1, true, true, true, 2, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, IoOutcome::fault);
  EXPECT_EQ(r.elements, 8u);
  EXPECT_TRUE(injected(vmrt::kVectorPf));
  EXPECT_EQ(page->inject.error_code, vmrt::kPfWrite);  // not present, write, supervisor
  EXPECT_EQ(page->cr2, kHighGva + 0x1000);
  EXPECT_TRUE(v.dirty() & vm::Load::cr);
  EXPECT_EQ(page->regs.rcx, 92u);
  EXPECT_EQ(page->regs.rdi, kHighGva + 0x1000);
  EXPECT_EQ(byte_at(kHighGpa + 0xfff), 0x47);
  EXPECT_EQ(ports.log.size(), 8u);
}

TEST_F(StringIoTest, NonCanonicalPointerIsGp) {
  long_mode();
  code(0x1000, "6e");  // outsb
  page->regs.rsi = 0x0000'8000'0000'0000ull;
  io_exit(0x80, 1, false, true, false, 1, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, IoOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  EXPECT_TRUE(ports.log.empty());
}

TEST_F(StringIoTest, SsOverrideBeyondTheLimitIsSs) {
  protected_mode();
  vm::Segment ss = page->ss;
  ss.limit = 0xfff;
  v.set_segment(Seg::ss, ss);
  code(0x1000, "36 6e");  // outsb %ss:(%esi)
  page->regs.rsi = 0x1000;
  io_exit(0x80, 1, false, true, false, 2, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorSs));
}

TEST_F(StringIoTest, ReadOnlyOrNullEsIsGpForIns) {
  protected_mode();
  vm::Segment es = page->es;
  es.attr &= ~uint16_t{2};  // read-only data
  v.set_segment(Seg::es, es);
  code(0x1000, "6c");
  io_exit(0x60, 1, true, true, false, 1, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorGp));
  es.attr = 0;  // a null selector: unusable
  v.set_segment(Seg::es, es);
  io_exit(0x60, 1, true, true, false, 1, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::fault);
  EXPECT_TRUE(ports.log.empty());
}

TEST_F(StringIoTest, ElementsOutsideRamGoToTheBusOrTheEmptyBus) {
  protected_mode();
  FakeBus dev;
  dev.base = 0x100000;  // the page just above guest RAM
  dev.size = 0x1000;
  vmrt::PhysBus bus = dev.bus();
  code(0x1000, "66 6d");  // insw at 0xfffff: one byte in RAM, one on the device
  page->regs.rdi = 0xfffff;
  io_exit(0x1f0, 2, true, true, false, 2, 0x1000);
  EXPECT_EQ(run(0, &bus).outcome, IoOutcome::done);
  EXPECT_EQ(byte_at(0xfffff), 0x40);
  ASSERT_EQ(dev.log.size(), 1u);
  EXPECT_TRUE(dev.log[0].write);
  EXPECT_EQ(dev.log[0].gpa, 0x100000u);
  EXPECT_EQ(dev.log[0].size, 1u);
  EXPECT_EQ(dev.log[0].value, 0x00u);
  code(0x1000, "66 6f");  // outsw from nothing at all: all ones
  page->regs.rsi = 0x200000;
  io_exit(0x1f0, 2, false, true, false, 2, 0x1000);
  EXPECT_EQ(run(0, &bus).outcome, IoOutcome::done);
  EXPECT_EQ(ports.log.back().value, 0xffffu);
}

TEST_F(StringIoTest, ZeroCountAndMismatchedBytes) {
  protected_mode();
  code(0x1000, "f3 6c");
  page->regs.rcx = 0;
  page->regs.rdi = 0x2000;
  io_exit(0x60, 1, true, true, true, 2, 0x1000);
  auto r = run();
  EXPECT_EQ(r.outcome, IoOutcome::done);
  EXPECT_EQ(r.elements, 0u);
  EXPECT_EQ(page->regs.rdi, 0x2000u);
  EXPECT_TRUE(ports.log.empty());
  // The exit says INS but the bytes say OUTS (changed since): nothing done.
  code(0x1000, "f3 6e");
  page->regs.rcx = 5;
  io_exit(0x60, 1, true, true, true, 2, 0x1000);
  EXPECT_EQ(run().outcome, IoOutcome::retry);
  EXPECT_EQ(page->regs.rcx, 5u);
  EXPECT_TRUE(ports.log.empty());
}

TEST_F(StringIoTest, UnfetchableInstructionGetsThePageFault) {
  long_mode();
  page->regs.rip = 0x7000'0000ull;  // not mapped
  io_exit(0x60, 1, true, true, false, 1, 0x7000'0000ull);
  auto r = run();
  EXPECT_EQ(r.outcome, IoOutcome::fault);
  EXPECT_TRUE(injected(vmrt::kVectorPf));
  EXPECT_EQ(page->cr2, 0x7000'0000ull);
}

TEST_F(StringIoTest, StaleStateIsAnErrorForTheVmm) {
  protected_mode();
  v.set_save_mask(0);
  code(0x1000, "6c");
  io_exit(0x60, 1, true, true, false, 1, 0x1000);
  auto r = vmrt::emulate_io(v, ports.io());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, vmrt::Errc::stale_state);
  page->exit.reason = vm::ExitReason::hlt;
  EXPECT_EQ(vmrt::emulate_io(v, ports.io()).error().code, vmrt::Errc::bad_argument);
}

TEST_F(StringIoTest, UnassignedHandlerBoundsHugeCounts) {
  long_mode();
  v.on(vm::ExitReason::io, vmrt::handlers::io_unassigned);
  code(0x1000, "f3 48 6d");  // rep insl (REX.W does not make it 64-bit)
  page->regs.rcx = ~0ull;
  page->regs.rdi = 0x40000;
  io_exit(0x1f0, 4, true, true, true, 3, 0x1000);
  EXPECT_EQ(v.dispatch().value(), vmrt::Action::resume);
  EXPECT_EQ(page->regs.rcx, ~0ull - vmrt::kStringIoMaxElements);
  EXPECT_EQ(page->regs.rdi, 0x40000 + 4 * vmrt::kStringIoMaxElements);
  EXPECT_EQ(page->regs.rip, 0x1000u);
  uint32_t w = 0;
  ASSERT_TRUE(g.mem.read(0x40000, &w, 4).ok());
  EXPECT_EQ(w, 0xffffffffu);
}

TEST(StringIoHelpers, AddressSizedRegisterWrites) {
  EXPECT_EQ(vmrt::assign_address_sized(0x1234'5678'9abc'def0ull, 0x1'0000ull, 2), 0x1234'5678'9abc'0000ull);
  EXPECT_EQ(vmrt::assign_address_sized(0x1234'5678'9abc'def0ull, 0x1'0000'0001ull, 4), 0x1u);
  EXPECT_EQ(vmrt::assign_address_sized(1, 0xffff'ffff'ffff'ffffull, 8), ~0ull);
}

}  // namespace
