// cos::dev::LocalApic: registers over MMIO and x2APIC MSRs, IA32_APIC_BASE
// transitions, interrupt acceptance/priority/ack/EOI, IPIs, ExtINT through
// LINT0, and the timer in one-shot, periodic and TSC-deadline modes.
#include <gtest/gtest.h>

#include "unit/devices_test_util.hpp"
#include "devices/local_apic.hpp"
#include "devices/pic8259.hpp"

using cos::dev::LocalApic;
using namespace devtest;

namespace {

using R = LocalApic::Reg;

struct LapicTest : ::testing::Test {
  FakeClock clock;
  LocalApic::Config cfg;
  LocalApic apic{clock, cfg};
  EoiRecorder eois;

  uint32_t rd(uint16_t off) { return static_cast<uint32_t>(apic.read(off, 4)); }
  void wr(uint16_t off, uint32_t v) { apic.write(off, 4, v); }
  void enable_x2apic() {
    ASSERT_TRUE(apic.write_msr(0x1b, 0xfee00000 | (1 << 8) | (1 << 11) | (1 << 10)));
  }
  uint64_t rdmsr(uint32_t msr) {
    uint64_t v = 0;
    EXPECT_TRUE(apic.read_msr(msr, v)) << std::hex << msr;
    return v;
  }
  bool gp_on_read(uint32_t msr) {
    uint64_t v;
    return !apic.read_msr(msr, v);
  }
};

TEST_F(LapicTest, ResetState) {
  EXPECT_EQ(rdmsr(0x1b), 0xfee00900u);  // base, BSP, enabled
  EXPECT_EQ(apic.base(), 0xfee00000u);
  EXPECT_TRUE(apic.mmio_enabled());
  EXPECT_EQ(rd(R::kVer), 0x50014u);
  EXPECT_EQ(rd(R::kId), 0u);
  EXPECT_EQ(rd(R::kSvr), 0x1ffu);       // software-enabled by "the BIOS"
  EXPECT_EQ(rd(R::kLvtLint0), 0x8700u);  // ExtINT: virtual wire
  EXPECT_EQ(rd(R::kLvtLint1), 0x8400u);  // NMI
  EXPECT_EQ(rd(R::kLvtTimer), 0x10000u);
  EXPECT_EQ(rd(R::kDfr), 0xffffffffu);
  EXPECT_EQ(apic.highest_pending(), -1);
}

TEST(LapicConfig, ApicIdAndNonBsp) {
  FakeClock clock;
  LocalApic apic(clock, LocalApic::Config{.apic_id = 3, .bsp = false});
  EXPECT_EQ(apic.read(R::kId, 4), 3u << 24);
  uint64_t base = 0;
  ASSERT_TRUE(apic.read_msr(0x1b, base));
  EXPECT_EQ(base, 0xfee00800u);
}

TEST_F(LapicTest, PartialMmioReadsAndIgnoredWrites) {
  EXPECT_EQ(apic.read(R::kVer, 1), 0x14u);
  EXPECT_EQ(apic.read(R::kVer + 2, 1), 0x05u);
  EXPECT_EQ(apic.read(R::kVer + 4, 4), 0u);  // beyond the register
  apic.write(R::kTpr, 1, 0x20);                // not a 32-bit write: ignored
  EXPECT_EQ(rd(R::kTpr), 0u);
  wr(R::kVer, 0);  // read-only
  EXPECT_EQ(rd(R::kVer), 0x50014u);
}

TEST_F(LapicTest, AcceptAckEoi) {
  apic.accept(0x41);
  apic.accept(0x32);
  EXPECT_TRUE(apic.irr_bit(0x41));
  EXPECT_EQ(rd(R::kIrr + 0x20), 1u << 1);  // vector 0x41 in IRR word 2
  EXPECT_EQ(apic.highest_pending(), 0x41);
  EXPECT_EQ(apic.ack(), 0x41);
  EXPECT_TRUE(apic.isr_bit(0x41));
  EXPECT_FALSE(apic.irr_bit(0x41));
  EXPECT_EQ(rd(R::kPpr), 0x40u);
  EXPECT_EQ(apic.highest_pending(), -1);  // 0x32's class is below the PPR
  apic.accept(0x51);
  EXPECT_EQ(apic.highest_pending(), 0x51);  // a higher class nests
  wr(R::kEoi, 0);
  EXPECT_FALSE(apic.isr_bit(0x41));
  EXPECT_EQ(rd(R::kPpr), 0u);
  EXPECT_EQ(apic.ack(), 0x51);
  wr(R::kEoi, 0);
  EXPECT_EQ(apic.ack(), 0x32);
  wr(R::kEoi, 0);
  EXPECT_EQ(apic.ack(), -1);
}

TEST_F(LapicTest, TaskPriority) {
  wr(R::kTpr, 0x50);
  apic.accept(0x55);
  EXPECT_EQ(apic.highest_pending(), -1);  // same class as TPR: blocked
  apic.accept(0x61);
  EXPECT_EQ(apic.highest_pending(), 0x61);
  EXPECT_EQ(rd(R::kPpr), 0x50u);
  wr(R::kTpr, 0x00);
  EXPECT_EQ(apic.ack(), 0x61);
  EXPECT_EQ(apic.highest_pending(), -1);  // 0x55 below 0x61 in service
}

TEST_F(LapicTest, LevelTriggeredEoiReachesListener) {
  apic.set_eoi_listener(&eois);
  apic.accept(0x70, true);
  EXPECT_TRUE(apic.tmr_bit(0x70));
  apic.accept(0x60, false);
  EXPECT_EQ(apic.ack(), 0x70);
  wr(R::kEoi, 0);
  ASSERT_EQ(eois.vectors.size(), 1u);
  EXPECT_EQ(eois.vectors[0], 0x70);
  EXPECT_EQ(apic.ack(), 0x60);
  wr(R::kEoi, 0);
  EXPECT_EQ(eois.vectors.size(), 1u);  // edge: no broadcast
}

TEST_F(LapicTest, IllegalVectorSetsEsr) {
  apic.accept(5);
  EXPECT_FALSE(apic.irr_bit(5));
  EXPECT_EQ(rd(R::kEsr), 0u);  // ESR updates on write
  wr(R::kEsr, 0);
  EXPECT_EQ(rd(R::kEsr), 0x40u);
  wr(R::kEsr, 0);
  EXPECT_EQ(rd(R::kEsr), 0u);
}

TEST_F(LapicTest, SoftwareDisableMasksLvtsAndDropsInterrupts) {
  wr(R::kLvtTimer, 0x20030);
  wr(R::kSvr, 0xff);
  EXPECT_FALSE(apic.sw_enabled());
  EXPECT_EQ(rd(R::kLvtTimer) & 0x10000, 0x10000u);
  EXPECT_EQ(rd(R::kLvtLint0) & 0x10000, 0x10000u);
  wr(R::kLvtTimer, 0x30);  // the mask cannot be cleared while disabled
  EXPECT_EQ(rd(R::kLvtTimer), 0x10030u);
  apic.accept(0x40);
  EXPECT_FALSE(apic.irr_bit(0x40));
  wr(R::kSvr, 0x1ff);
  wr(R::kLvtTimer, 0x30);
  EXPECT_EQ(rd(R::kLvtTimer), 0x30u);
}

TEST_F(LapicTest, SelfIpiThroughIcr) {
  wr(R::kIcrHi, 0);
  wr(R::kIcrLo, 0x00040000 | 0x45);  // shorthand self, fixed
  EXPECT_TRUE(apic.irr_bit(0x45));
  EXPECT_EQ(rd(R::kIcrLo) & 0x1000, 0u);  // delivery status idle
  wr(R::kIcrHi, 0x00000000);
  wr(R::kIcrLo, 0x46);  // physical destination 0 = this APIC
  EXPECT_TRUE(apic.irr_bit(0x46));
  wr(R::kIcrHi, 0x01000000);
  wr(R::kIcrLo, 0x47);  // APIC 1: not us
  EXPECT_FALSE(apic.irr_bit(0x47));
  wr(R::kIcrLo, 0x000c0000 | 0x48);  // all excluding self
  EXPECT_FALSE(apic.irr_bit(0x48));
  wr(R::kIcrLo, 0x00080000 | 0x49);  // all including self
  EXPECT_TRUE(apic.irr_bit(0x49));
  wr(R::kIcrLo, 0x00040400);  // NMI to self
  EXPECT_TRUE(apic.nmi_pending());
  EXPECT_TRUE(apic.take_nmi());
  EXPECT_FALSE(apic.nmi_pending());
  wr(R::kIcrLo, 0x000c4500);  // INIT to all others (Linux's sync_Arb_IDs style): ignored
  wr(R::kIcrLo, 0x00040000 | 0x03);  // illegal vector
  wr(R::kEsr, 0);
  EXPECT_EQ(rd(R::kEsr), 0x20u);
}

TEST_F(LapicTest, LogicalDestinationFlatAndCluster) {
  wr(R::kLdr, 0x02000000);  // logical ID bit 1
  wr(R::kIcrHi, 0x06000000);
  wr(R::kIcrLo, 0x800 | 0x50);  // logical, flat: 0x06 & 0x02
  EXPECT_TRUE(apic.irr_bit(0x50));
  wr(R::kIcrHi, 0x04000000);
  wr(R::kIcrLo, 0x800 | 0x51);
  EXPECT_FALSE(apic.irr_bit(0x51));
  wr(R::kDfr, 0x0fffffff);  // cluster model
  EXPECT_EQ(rd(R::kDfr), 0x0fffffffu);
  wr(R::kLdr, 0x31000000);  // cluster 3, member bit 0
  wr(R::kIcrHi, 0x33000000);
  wr(R::kIcrLo, 0x800 | 0x52);
  EXPECT_TRUE(apic.irr_bit(0x52));
  wr(R::kIcrHi, 0x21000000);
  wr(R::kIcrLo, 0x800 | 0x53);
  EXPECT_FALSE(apic.irr_bit(0x53));
}

TEST_F(LapicTest, IoApicMessages) {
  cos::dev::ApicMessage m;
  m.vector = 0x61;
  m.destination = 0;
  EXPECT_TRUE(apic.deliver(m));
  EXPECT_TRUE(apic.irr_bit(0x61));
  m.vector = 0x62;
  m.destination = 1;
  EXPECT_FALSE(apic.deliver(m));
  EXPECT_FALSE(apic.irr_bit(0x62));
  m.destination = 0xff;  // broadcast
  m.level = true;
  EXPECT_TRUE(apic.deliver(m));
  EXPECT_TRUE(apic.tmr_bit(0x62));
  m.mode = cos::dev::DeliveryMode::nmi;
  EXPECT_TRUE(apic.deliver(m));
  EXPECT_TRUE(apic.take_nmi());
}

// A PIC-like source for LINT0 ExtINT.
struct FakePic final : cos::dev::ExtIntSource {
  int vector = -1;
  unsigned acks = 0;
  int pending_vector() const override { return vector; }
  uint8_t acknowledge() override {
    ++acks;
    uint8_t v = static_cast<uint8_t>(vector < 0 ? 0x37 : vector);
    vector = -1;
    return v;
  }
};

TEST_F(LapicTest, ExtIntThroughLint0) {
  FakePic pic;
  apic.set_ext_int_source(&pic);
  pic.vector = 0x30;
  EXPECT_EQ(apic.highest_pending(), 0x30);  // virtual wire at reset
  apic.accept(0x80);
  EXPECT_EQ(apic.highest_pending(), 0x80);  // the APIC's own interrupts first
  EXPECT_EQ(apic.ack(), 0x80);
  EXPECT_EQ(apic.highest_pending(), 0x30);  // ExtINT ignores the PPR
  EXPECT_EQ(apic.ack(), 0x30);
  EXPECT_EQ(pic.acks, 1u);
  EXPECT_FALSE(apic.isr_bit(0x30));  // ExtINT does not touch ISR
  pic.vector = 0x31;
  wr(R::kLvtLint0, 0x10700);  // Linux's check_timer(): mask the virtual wire
  EXPECT_EQ(apic.highest_pending(), -1);
  EXPECT_EQ(apic.ack(), -1);
  wr(R::kLvtLint0, 0x700);
  EXPECT_EQ(apic.ack(), 0x31);
}

TEST_F(LapicTest, HardwareDisabledPassesPicThrough) {
  FakePic pic;
  apic.set_ext_int_source(&pic);
  ASSERT_TRUE(apic.write_msr(0x1b, 0xfee00000 | (1 << 8)));  // EN = 0
  EXPECT_FALSE(apic.hw_enabled());
  EXPECT_FALSE(apic.mmio_enabled());
  EXPECT_EQ(apic.read(R::kVer, 4), 0xffffffffu);
  pic.vector = 0x08;
  EXPECT_EQ(apic.highest_pending(), 0x08);
  EXPECT_EQ(apic.ack(), 0x08);
  apic.accept(0x40);
  EXPECT_FALSE(apic.irr_bit(0x40));
  // Re-enabled: the power-up state (software-disabled, LVTs masked).
  ASSERT_TRUE(apic.write_msr(0x1b, 0xfee00000 | (1 << 8) | (1 << 11)));
  EXPECT_EQ(rd(R::kSvr), 0xffu);
  EXPECT_EQ(rd(R::kLvtLint0), 0x10000u);
}

TEST_F(LapicTest, ApicBaseTransitionsAndReservedBits) {
  EXPECT_FALSE(apic.write_msr(0x1b, 0xfee00000 | (1 << 10)));        // EXTD without EN
  EXPECT_FALSE(apic.write_msr(0x1b, 0xfee00000 | (1 << 11) | 0x1));   // reserved bit 0
  EXPECT_FALSE(apic.write_msr(0x1b, 0xfee00000 | (1 << 11) | (1 << 9)));
  EXPECT_FALSE(apic.write_msr(0x1b, (1ull << 40) | 0xfee00000 | (1 << 11)));  // above MAXPHYADDR
  enable_x2apic();
  EXPECT_TRUE(apic.x2apic_mode());
  EXPECT_FALSE(apic.write_msr(0x1b, 0xfee00000 | (1 << 11)));  // x2APIC -> xAPIC
  ASSERT_TRUE(apic.write_msr(0x1b, 0xfee00000));               // -> disabled
  EXPECT_FALSE(apic.write_msr(0x1b, 0xfee00000 | (1 << 11) | (1 << 10)));  // disabled -> x2APIC
  ASSERT_TRUE(apic.write_msr(0x1b, 0xfed00000 | (1 << 11)));   // -> xAPIC, relocated
  EXPECT_EQ(apic.base(), 0xfed00000u);
  EXPECT_TRUE(apic.mmio_enabled());
}

TEST(LapicConfig, NoX2apicMakesExtdReserved) {
  FakeClock clock;
  LocalApic apic(clock, LocalApic::Config{.x2apic = false});
  EXPECT_FALSE(apic.write_msr(0x1b, 0xfee00000 | (1 << 8) | (1 << 11) | (1 << 10)));
  uint64_t v;
  EXPECT_FALSE(apic.read_msr(0x6e0, v));  // no TSC-deadline support configured
}

TEST_F(LapicTest, X2apicMsrs) {
  uint64_t v;
  EXPECT_FALSE(apic.read_msr(0x802, v));  // x2APIC MSRs #GP in xAPIC mode
  enable_x2apic();
  EXPECT_FALSE(apic.mmio_enabled());
  EXPECT_EQ(apic.read(R::kVer, 4), 0xffffffffu);
  EXPECT_EQ(rdmsr(0x802), 0u);  // 32-bit ID
  EXPECT_EQ(rdmsr(0x803), 0x50014u);
  EXPECT_EQ(rdmsr(0x80d), 0x1u);  // LDR: cluster 0, bit 0
  EXPECT_EQ(rdmsr(0x80f), 0x1ffu);
  EXPECT_TRUE(apic.write_msr(0x808, 0x20));
  EXPECT_EQ(rdmsr(0x808), 0x20u);
  EXPECT_TRUE(apic.write_msr(0x808, 0));
  // Self IPI via ICR (64-bit, destination in 63:32) and via SELF IPI.
  EXPECT_TRUE(apic.write_msr(0x830, 0x0000000000000050ull));
  EXPECT_TRUE(apic.irr_bit(0x50));
  EXPECT_EQ(rdmsr(0x830), 0x50u);
  EXPECT_TRUE(apic.write_msr(0x830, 0x0000000100000051ull));  // APIC 1
  EXPECT_FALSE(apic.irr_bit(0x51));
  EXPECT_TRUE(apic.write_msr(0x830, 0xffffffff00000052ull));  // broadcast
  EXPECT_TRUE(apic.irr_bit(0x52));
  EXPECT_TRUE(apic.write_msr(0x83f, 0x53));
  EXPECT_TRUE(apic.irr_bit(0x53));
  EXPECT_EQ(rdmsr(0x820 + 2), (1u << 16) | (1u << 18) | (1u << 19));  // IRR word 2: 0x50, 0x52, 0x53
  EXPECT_EQ(apic.ack(), 0x53);
  EXPECT_TRUE(apic.write_msr(0x80b, 0));
  EXPECT_FALSE(apic.isr_bit(0x53));
  // #GP cases (SDM §11.12.1.2).
  EXPECT_TRUE(gp_on_read(0x80b));   // EOI is write-only
  EXPECT_TRUE(gp_on_read(0x83f));   // SELF IPI is write-only
  EXPECT_TRUE(gp_on_read(0x80e));   // no DFR in x2APIC mode
  EXPECT_TRUE(gp_on_read(0x831));   // no ICR high
  EXPECT_TRUE(gp_on_read(0x809));   // no APR
  EXPECT_TRUE(gp_on_read(0x82f));   // no CMCI LVT (6 LVT entries)
  EXPECT_TRUE(gp_on_read(0x8ff));
  EXPECT_FALSE(apic.write_msr(0x80b, 1));   // non-zero EOI
  EXPECT_FALSE(apic.write_msr(0x828, 1));   // non-zero ESR
  EXPECT_FALSE(apic.write_msr(0x802, 5));   // ID is read-only
  EXPECT_FALSE(apic.write_msr(0x80d, 5));   // LDR is read-only
  EXPECT_FALSE(apic.write_msr(0x839, 5));   // current count is read-only
  EXPECT_FALSE(apic.write_msr(0x808, 1ull << 32));  // reserved high bits
  EXPECT_FALSE(apic.write_msr(0x83f, 0x100));
  EXPECT_TRUE(apic.write_msr(0x828, 0));
}

TEST(LapicX2apic, LdrFromApicId) {
  FakeClock clock;
  LocalApic apic(clock, LocalApic::Config{.apic_id = 0x23});
  ASSERT_TRUE(apic.write_msr(0x1b, 0xfee00000 | (1 << 8) | (1 << 11) | (1 << 10)));
  uint64_t v = 0;
  ASSERT_TRUE(apic.read_msr(0x80d, v));
  EXPECT_EQ(v, (2u << 16) | (1u << 3));
  ASSERT_TRUE(apic.read_msr(0x802, v));
  EXPECT_EQ(v, 0x23u);
  // Logical x2APIC destination: cluster 2, bit 3.
  EXPECT_TRUE(apic.write_msr(0x830, (uint64_t((2u << 16) | 0x8) << 32) | 0x800 | 0x61));
  EXPECT_TRUE(apic.irr_bit(0x61));
  EXPECT_TRUE(apic.write_msr(0x830, (uint64_t((1u << 16) | 0x8) << 32) | 0x800 | 0x62));
  EXPECT_FALSE(apic.irr_bit(0x62));
}

// ---------------------------------------------------------------- timer

TEST_F(LapicTest, TimerOneShot) {
  clock.now = 1000;
  wr(R::kTimerDivide, 0x3);  // divide by 16
  wr(R::kLvtTimer, 0xec);    // one-shot, vector 0xec
  wr(R::kTimerInitial, 1000);  // 16000 ns at 1 GHz
  EXPECT_EQ(apic.next_deadline_ns(), 17'000u);
  clock.now = 1000 + 16 * 250;
  EXPECT_EQ(rd(R::kTimerCurrent), 750u);
  apic.advance(clock.now);
  EXPECT_FALSE(apic.irr_bit(0xec));
  clock.now = 17'000;
  apic.advance(clock.now);
  EXPECT_TRUE(apic.irr_bit(0xec));
  EXPECT_EQ(rd(R::kTimerCurrent), 0u);
  EXPECT_EQ(apic.next_deadline_ns(), cos::dev::kNoDeadline);
  EXPECT_EQ(rd(R::kTimerInitial), 1000u);
}

TEST_F(LapicTest, TimerStopByZeroAndMaskedExpiry) {
  wr(R::kLvtTimer, 0x100ec);  // masked
  wr(R::kTimerDivide, 0xb);   // divide by 1
  wr(R::kTimerInitial, 500);
  EXPECT_EQ(apic.next_deadline_ns(), cos::dev::kNoDeadline);  // masked: nothing to wake for
  clock.now = 600;
  EXPECT_EQ(rd(R::kTimerCurrent), 0u);
  wr(R::kLvtTimer, 0xec);  // unmasking after the (silent) expiry does not fire it
  apic.advance(clock.now);
  EXPECT_FALSE(apic.irr_bit(0xec));
  wr(R::kTimerInitial, 500);
  EXPECT_EQ(apic.next_deadline_ns(), 1100u);
  wr(R::kTimerInitial, 0);  // stop
  EXPECT_EQ(apic.next_deadline_ns(), cos::dev::kNoDeadline);
  EXPECT_EQ(rd(R::kTimerCurrent), 0u);
}

TEST_F(LapicTest, TimerPeriodic) {
  wr(R::kTimerDivide, 0x0);    // divide by 2
  wr(R::kLvtTimer, 0x200ef);   // periodic
  wr(R::kTimerInitial, 5000);  // 10 us
  for (int k = 1; k <= 5; ++k) {
    EXPECT_EQ(apic.next_deadline_ns(), uint64_t(k) * 10'000);
    clock.now = apic.next_deadline_ns();
    apic.advance(clock.now);
    EXPECT_EQ(apic.ack(), 0xef);
    wr(R::kEoi, 0);
  }
  clock.now = 50'000 + 2'000;
  EXPECT_EQ(rd(R::kTimerCurrent), 4000u);
  clock.now = 95'000;  // overslept: one interrupt, next period boundary
  apic.advance(clock.now);
  EXPECT_EQ(apic.ack(), 0xef);
  EXPECT_EQ(apic.ack(), -1);
  EXPECT_EQ(apic.next_deadline_ns(), 100'000u);
}

TEST_F(LapicTest, TimerDivideChangeKeepsRemainingCount) {
  wr(R::kTimerDivide, 0xb);  // by 1
  wr(R::kLvtTimer, 0xec);
  wr(R::kTimerInitial, 1000);
  clock.now = 400;
  wr(R::kTimerDivide, 0x1);  // by 4: 600 ticks left = 2400 ns
  EXPECT_EQ(rd(R::kTimerCurrent), 600u);
  EXPECT_EQ(apic.next_deadline_ns(), 400u + 2400u);
  EXPECT_EQ(rd(R::kTimerDivide), 0x1u);
}

TEST(LapicBusClock, CustomBusFrequency) {
  FakeClock clock;
  LocalApic apic(clock, LocalApic::Config{.bus_hz = 100'000'000});  // 100 MHz
  apic.write(R::kTimerDivide, 4, 0xb);
  apic.write(R::kLvtTimer, 4, 0x40);
  apic.write(R::kTimerInitial, 4, 100);
  EXPECT_EQ(apic.next_deadline_ns(), 1000u);
}

struct TscLapicTest : ::testing::Test {
  FakeClock clock;
  FakeTsc tsc;
  LocalApic apic{clock, LocalApic::Config{.tsc_hz = 2'000'000'000}, &tsc};
  void wr(uint16_t off, uint32_t v) { apic.write(off, 4, v); }
};

TEST_F(TscLapicTest, TscDeadlineMode) {
  uint64_t v = 1;
  ASSERT_TRUE(apic.read_msr(0x6e0, v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(apic.write_msr(0x6e0, 1234));  // ignored outside TSC-deadline mode
  ASSERT_TRUE(apic.read_msr(0x6e0, v));
  EXPECT_EQ(v, 0u);
  wr(R::kLvtTimer, 0x400ec);
  EXPECT_EQ(apic.timer_mode(), LocalApic::TimerMode::tsc_deadline);
  clock.now = 1'000'000;
  tsc.tsc = 50'000'000;
  ASSERT_TRUE(apic.write_msr(0x6e0, 50'000'000 + 20'000));  // 10 us ahead at 2 GHz
  ASSERT_TRUE(apic.read_msr(0x6e0, v));
  EXPECT_EQ(v, 50'020'000u);
  EXPECT_EQ(apic.next_deadline_ns(), 1'010'000u);
  wr(R::kTimerInitial, 777);  // ignored in TSC-deadline mode
  EXPECT_EQ(apic.reg(R::kTimerInitial), 0u);
  EXPECT_EQ(apic.reg(R::kTimerCurrent), 0u);
  clock.now += 5'000;
  tsc.tsc += 10'000;
  apic.advance(clock.now);
  EXPECT_FALSE(apic.irr_bit(0xec));
  clock.now += 5'000;
  tsc.tsc += 10'000;
  apic.advance(clock.now);
  EXPECT_TRUE(apic.irr_bit(0xec));
  ASSERT_TRUE(apic.read_msr(0x6e0, v));
  EXPECT_EQ(v, 0u);  // disarmed after firing
  EXPECT_EQ(apic.next_deadline_ns(), cos::dev::kNoDeadline);
  // A deadline in the past fires at once.
  EXPECT_EQ(apic.ack(), 0xec);
  ASSERT_TRUE(apic.write_msr(0x6e0, 1));
  EXPECT_TRUE(apic.irr_bit(0xec));
  // Leaving TSC-deadline mode disarms.
  ASSERT_TRUE(apic.write_msr(0x6e0, tsc.tsc + 1'000'000));
  wr(R::kLvtTimer, 0xec);
  ASSERT_TRUE(apic.read_msr(0x6e0, v));
  EXPECT_EQ(v, 0u);
  wr(R::kLvtTimer, 0x400ec);
  ASSERT_TRUE(apic.read_msr(0x6e0, v));
  EXPECT_EQ(v, 0u);
}

TEST(LapicTscDerived, TscFromClockWithoutSource) {
  FakeClock clock;
  LocalApic apic(clock, LocalApic::Config{.tsc_hz = 1'000'000'000});
  apic.write(R::kLvtTimer, 4, 0x400ec);
  clock.now = 5000;
  ASSERT_TRUE(apic.write_msr(0x6e0, 8000));
  EXPECT_EQ(apic.next_deadline_ns(), 8000u);
  clock.now = 8000;
  apic.advance(clock.now);
  EXPECT_TRUE(apic.irr_bit(0xec));
}

TEST(LapicTimerMode, ReservedTscDeadlineBitWithoutSupport) {
  FakeClock clock;
  LocalApic apic(clock);
  apic.write(R::kLvtTimer, 4, 0x400ec);
  EXPECT_EQ(apic.timer_mode(), LocalApic::TimerMode::one_shot);
}

// Linux's end-to-end path: PIC -> LINT0 ExtINT -> vCPU.
TEST(LapicWithPic, VirtualWire) {
  FakeClock clock;
  LocalApic apic(clock);
  cos::dev::Pic8259Pair pic;
  apic.set_ext_int_source(&pic);
  outb(pic, 0x20, 0x11);
  outb(pic, 0x21, 0x30);
  outb(pic, 0x21, 0x04);
  outb(pic, 0x21, 0x01);
  outb(pic, 0x21, 0x00);
  pic.pulse_irq(0);
  EXPECT_EQ(apic.highest_pending(), 0x30);
  EXPECT_EQ(apic.ack(), 0x30);
  EXPECT_EQ(pic.isr(0), 0x01);
}

}  // namespace
