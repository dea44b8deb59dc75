// cos::dev::ApicBus and VcpuStartup: IPI and interrupt-message routing
// between several local APICs (physical, logical flat/cluster, x2APIC
// cluster, broadcasts, ICR shorthands, lowest priority, NMI/INIT/SIPI), the
// I/O APIC and MSIs through the bus, and the INIT/SIPI start-up states.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "unit/devices_test_util.hpp"
#include "devices/apic_bus.hpp"
#include "devices/io_apic.hpp"
#include "devices/local_apic.hpp"
#include "devices/msi.hpp"
#include "devices/vcpu_startup.hpp"

using cos::dev::ApicBus;
using cos::dev::ApicMessage;
using cos::dev::DeliveryMode;
using cos::dev::LocalApic;
using cos::dev::SipiEntry;
using cos::dev::VcpuStartup;
using namespace devtest;

namespace {

using R = LocalApic::Reg;

struct ApicBusTest : ::testing::Test {
  static constexpr unsigned kN = 4;
  FakeClock clock;
  std::vector<std::unique_ptr<LocalApic>> apics;
  ApicBus bus;
  std::vector<unsigned> woken;

  void SetUp() override {
    for (unsigned i = 0; i < kN; ++i) {
      LocalApic::Config c;
      c.apic_id = i;
      c.bsp = i == 0;
      apics.push_back(std::make_unique<LocalApic>(clock, c));
      ASSERT_TRUE(bus.add(*apics.back()));
    }
    bus.set_wakeup([](void* ctx, unsigned i) { static_cast<ApicBusTest*>(ctx)->woken.push_back(i); }, this);
  }
  LocalApic& a(unsigned i) { return *apics[i]; }
  void wr(unsigned i, uint16_t off, uint32_t v) { a(i).write(off, 4, v); }
  // An xAPIC ICR write from APIC `from`: destination byte, then ICR low.
  void ipi(unsigned from, uint8_t dest, uint32_t lo) {
    wr(from, R::kIcrHi, uint32_t(dest) << 24);
    wr(from, R::kIcrLo, lo);
  }
  std::vector<bool> irr(uint8_t v) {
    std::vector<bool> r;
    for (auto& p : apics) r.push_back(p->irr_bit(v));
    return r;
  }
  void to_x2apic(unsigned i) {
    ASSERT_TRUE(a(i).write_msr(0x1b, 0xfee00000 | (i == 0 ? 1u << 8 : 0) | (1u << 11) | (1u << 10)));
  }
};

using V = std::vector<bool>;

TEST_F(ApicBusTest, PhysicalDestinationReachesOnlyThatApic) {
  ipi(0, 2, 0x41);  // fixed, physical, APIC 2
  EXPECT_EQ(irr(0x41), (V{false, false, true, false}));
  EXPECT_EQ(woken, (std::vector<unsigned>{2}));
  ipi(3, 0, 0x42);  // AP to the BSP
  EXPECT_EQ(irr(0x42), (V{true, false, false, false}));
  ipi(0, 7, 0x43);  // nobody has ID 7
  EXPECT_EQ(irr(0x43), (V{false, false, false, false}));
}

TEST_F(ApicBusTest, PhysicalBroadcastXapic) {
  ipi(1, 0xff, 0x44);
  EXPECT_EQ(irr(0x44), (V{true, true, true, true}));
}

TEST_F(ApicBusTest, X2apicPhysicalAndBroadcast) {
  for (unsigned i = 0; i < kN; ++i) to_x2apic(i);
  // x2APIC ICR: one 64-bit MSR write, destination in bits 63:32.
  ASSERT_TRUE(a(0).write_msr(0x830, (uint64_t(3) << 32) | 0x51));
  EXPECT_EQ(irr(0x51), (V{false, false, false, true}));
  ASSERT_TRUE(a(0).write_msr(0x830, (uint64_t(0xffffffff) << 32) | 0x52));
  EXPECT_EQ(irr(0x52), (V{true, true, true, true}));
  // 0xff is an ordinary ID for an x2APIC IPI, not a broadcast...
  ASSERT_TRUE(a(0).write_msr(0x830, (uint64_t(0xff) << 32) | 0x53));
  EXPECT_EQ(irr(0x53), (V{false, false, false, false}));
  // ...but an I/O APIC's 8-bit 0xff is.
  ApicMessage m;
  m.vector = 0x54;
  m.destination = 0xff;
  EXPECT_TRUE(bus.deliver(m));
  EXPECT_EQ(irr(0x54), (V{true, true, true, true}));
}

TEST_F(ApicBusTest, LogicalFlatModel) {
  // Linux's flat model: LDR = 1 << (24 + cpu).
  for (unsigned i = 0; i < kN; ++i) wr(i, R::kLdr, 1u << (24 + i));
  ipi(0, 0x0a, 0x800 | 0x60);  // logical, bits 1 and 3
  EXPECT_EQ(irr(0x60), (V{false, true, false, true}));
  ipi(0, 0x01, 0x800 | 0x61);
  EXPECT_EQ(irr(0x61), (V{true, false, false, false}));
}

TEST_F(ApicBusTest, LogicalClusterModel) {
  // Clusters: APICs 0, 1 in cluster 1 (members 1, 2); 2, 3 in cluster 2 (members 1, 2).
  const uint32_t ldr[kN] = {0x11000000, 0x12000000, 0x21000000, 0x22000000};
  for (unsigned i = 0; i < kN; ++i) {
    wr(i, R::kDfr, 0x0fffffff);
    wr(i, R::kLdr, ldr[i]);
  }
  ipi(0, 0x23, 0x800 | 0x62);  // cluster 2, members 1 and 2
  EXPECT_EQ(irr(0x62), (V{false, false, true, true}));
  ipi(0, 0x12, 0x800 | 0x63);  // cluster 1, member 2
  EXPECT_EQ(irr(0x63), (V{false, true, false, false}));
  ipi(0, 0x32, 0x800 | 0x64);  // cluster 3: nobody
  EXPECT_EQ(irr(0x64), (V{false, false, false, false}));
}

TEST_F(ApicBusTest, X2apicClusterLdrFromTheId) {
  for (unsigned i = 0; i < kN; ++i) to_x2apic(i);
  // SDM §11.12.10.2: LDR = (ID[19:4] << 16) | 1 << ID[3:0]; IDs 0-3 are cluster 0.
  uint64_t ldr = 0;
  ASSERT_TRUE(a(2).read_msr(0x80d, ldr));
  EXPECT_EQ(ldr, 0x4u);
  ASSERT_TRUE(a(1).write_msr(0x830, (uint64_t(0x0000000d) << 32) | 0x800 | 0x65));  // cluster 0, bits 0, 2, 3
  EXPECT_EQ(irr(0x65), (V{true, false, true, true}));
  ASSERT_TRUE(a(1).write_msr(0x830, (uint64_t(0x00010001) << 32) | 0x800 | 0x66));  // cluster 1: nobody
  EXPECT_EQ(irr(0x66), (V{false, false, false, false}));
}

TEST_F(ApicBusTest, Shorthands) {
  ipi(1, 0, 0x00040000 | 0x70);  // self (destination ignored)
  EXPECT_EQ(irr(0x70), (V{false, true, false, false}));
  ipi(1, 0, 0x00080000 | 0x71);  // all including self
  EXPECT_EQ(irr(0x71), (V{true, true, true, true}));
  woken.clear();
  ipi(1, 0, 0x000c0000 | 0x72);  // all excluding self
  EXPECT_EQ(irr(0x72), (V{true, false, true, true}));
  EXPECT_EQ(woken, (std::vector<unsigned>{0, 2, 3}));
}

TEST_F(ApicBusTest, LowestPriorityPicksTheLowestTprThenRoundRobin) {
  for (unsigned i = 0; i < kN; ++i) wr(i, R::kTpr, 0x20);
  wr(2, R::kTpr, 0x10);
  ipi(0, 0xff, 0x100 | 0x80);  // lowest priority, broadcast
  EXPECT_EQ(irr(0x80), (V{false, false, true, false}));
  // Equal classes: round robin, starting after the last choice.
  wr(2, R::kTpr, 0x20);
  ipi(0, 0xff, 0x100 | 0x81);
  EXPECT_EQ(irr(0x81), (V{false, false, false, true}));
  ipi(0, 0xff, 0x100 | 0x82);
  EXPECT_EQ(irr(0x82), (V{true, false, false, false}));
  ipi(0, 0xff, 0x100 | 0x83);
  EXPECT_EQ(irr(0x83), (V{false, true, false, false}));
  // A software-disabled APIC is never chosen; only addressed APICs compete.
  wr(2, R::kSvr, 0xff);
  for (unsigned i = 0; i < kN; ++i) wr(i, R::kLdr, 1u << (24 + i));
  ipi(0, 0x06, 0x900 | 0x84);  // logical {1, 2}, lowest priority
  EXPECT_EQ(irr(0x84), (V{false, true, false, false}));
}

TEST_F(ApicBusTest, LowestPriorityFromTheIoApic) {
  cos::dev::IoApic ioapic(&bus, 8);
  wr(1, R::kTpr, 0x00);
  for (unsigned i = 0; i < kN; ++i)
    if (i != 1) wr(i, R::kTpr, 0x30);
  // Pin 5: vector 0x90, lowest priority, physical broadcast.
  ioapic.write(0, 4, 0x10 + 2 * 5 + 1);
  ioapic.write(0x10, 4, 0xff000000);
  ioapic.write(0, 4, 0x10 + 2 * 5);
  ioapic.write(0x10, 4, 0x190);
  ioapic.pulse_irq(5);
  EXPECT_EQ(irr(0x90), (V{false, true, false, false}));
}

TEST_F(ApicBusTest, IoApicAndMsiReachAnAp) {
  cos::dev::IoApic ioapic(&bus, 8);
  // Pin 4: vector 0x31, fixed, physical destination APIC 3.
  ioapic.write(0, 4, 0x10 + 2 * 4 + 1);
  ioapic.write(0x10, 4, 0x03000000);
  ioapic.write(0, 4, 0x10 + 2 * 4);
  ioapic.write(0x10, 4, 0x31);
  ioapic.pulse_irq(4);
  EXPECT_EQ(irr(0x31), (V{false, false, false, true}));
  EXPECT_EQ(woken, (std::vector<unsigned>{3}));
  cos::dev::ApicMsiSink msi(bus);
  EXPECT_TRUE(msi.send_msi(0xfee00000 | (2u << 12), 0x4a));  // APIC 2, vector 0x4a
  EXPECT_EQ(irr(0x4a), (V{false, false, true, false}));
  EXPECT_FALSE(msi.send_msi(0xfee00000 | (6u << 12), 0x4b));  // nobody: not delivered
}

TEST_F(ApicBusTest, NmiOnlyToItsDestination) {
  ipi(0, 1, 0x400);
  EXPECT_FALSE(a(0).nmi_pending());
  EXPECT_TRUE(a(1).nmi_pending());
  EXPECT_FALSE(a(2).nmi_pending());
}

TEST_F(ApicBusTest, InitResetsTheApicAndSipiCarriesItsVector) {
  wr(2, R::kTpr, 0x40);
  wr(2, R::kLvtLint0, 0x700);
  ipi(0, 2, 0x42);
  ASSERT_TRUE(a(2).irr_bit(0x42));
  ipi(0, 2, 0x0000c500);  // INIT, level assert (Linux: APIC_INT_LEVELTRIG | APIC_INT_ASSERT | APIC_DM_INIT)
  EXPECT_TRUE(a(2).init_pending());
  EXPECT_FALSE(a(1).init_pending());
  EXPECT_EQ(a(2).tpr(), 0u);
  EXPECT_FALSE(a(2).irr_bit(0x42));
  EXPECT_EQ(a(2).reg(R::kLvtLint0), LocalApic::kLvtMasked);
  EXPECT_EQ(a(2).reg(R::kSvr), 0xffu);
  EXPECT_EQ(a(2).id(), 2u);  // the ID survives INIT
  EXPECT_TRUE(a(2).hw_enabled());
  EXPECT_TRUE(a(2).take_init());
  EXPECT_FALSE(a(2).take_init());
  ipi(0, 2, 0x00008500);  // INIT level de-assert: ignored
  EXPECT_FALSE(a(2).init_pending());
  uint8_t v = 0;
  EXPECT_FALSE(a(2).take_sipi(v));
  ipi(0, 2, 0x0000069a);  // start-up, vector 0x9a
  EXPECT_TRUE(a(2).startup_pending());
  ASSERT_TRUE(a(2).take_sipi(v));
  EXPECT_EQ(v, 0x9a);
  EXPECT_FALSE(a(2).take_sipi(v));
}

TEST_F(ApicBusTest, IllegalVectorSetsTheSendersError) {
  ipi(0, 1, 0x05);  // fixed with vector 5: never sent
  EXPECT_FALSE(a(1).irr_bit(5));
  EXPECT_TRUE(woken.empty());
  wr(0, R::kEsr, 0);
  EXPECT_EQ(a(0).reg(R::kEsr), 0x20u);  // send illegal vector
}

TEST_F(ApicBusTest, DisabledApicsTakeNothing) {
  ASSERT_TRUE(a(3).write_msr(0x1b, 0xfee00000));  // hardware-disabled
  ipi(0, 0xff, 0x55);
  EXPECT_EQ(irr(0x55), (V{true, true, true, false}));
  wr(1, R::kSvr, 0xff);  // software-disabled: fixed interrupts dropped, INIT still taken
  ipi(0, 1, 0x56);
  EXPECT_FALSE(a(1).irr_bit(0x56));
  ipi(0, 1, 0xc500);
  EXPECT_TRUE(a(1).init_pending());
}

TEST(ApicBusLimits, AtMostEightApics) {
  FakeClock clock;
  std::vector<std::unique_ptr<LocalApic>> apics;
  ApicBus bus;
  for (unsigned i = 0; i < ApicBus::kMaxApics; ++i) {
    apics.push_back(std::make_unique<LocalApic>(clock));
    EXPECT_TRUE(bus.add(*apics.back()));
  }
  LocalApic extra(clock);
  EXPECT_FALSE(bus.add(extra));
  EXPECT_EQ(bus.count(), ApicBus::kMaxApics);
  EXPECT_EQ(bus.index_of(*apics[5]), 5);
  EXPECT_EQ(bus.index_of(extra), -1);
}

TEST(DecodeIcr, Fields) {
  cos::dev::Ipi ipi;
  ASSERT_TRUE(cos::dev::decode_icr(0x000c4608, 0x12, ipi));  // SIPI 0x08, all excluding self
  EXPECT_EQ(ipi.msg.mode, DeliveryMode::startup);
  EXPECT_EQ(ipi.msg.vector, 0x08);
  EXPECT_EQ(ipi.shorthand, cos::dev::IcrShorthand::all_excluding_self);
  EXPECT_EQ(ipi.msg.destination, 0x12u);
  EXPECT_FALSE(ipi.msg.logical);
  ASSERT_TRUE(cos::dev::decode_icr(0x00000821, 0x3, ipi));  // fixed, logical, vector 0x21
  EXPECT_EQ(ipi.msg.mode, DeliveryMode::fixed);
  EXPECT_TRUE(ipi.msg.logical);
  EXPECT_FALSE(cos::dev::decode_icr(0x00008500, 0, ipi));  // INIT de-assert
  EXPECT_FALSE(cos::dev::decode_icr(0x00000300, 0, ipi));  // reserved mode 011b
  EXPECT_FALSE(cos::dev::decode_icr(0x00000700, 0, ipi));  // ExtINT is not an IPI
}

TEST(VcpuStartupTest, BspRunsApsWaitForSipi) {
  VcpuStartup bsp(true), ap(false);
  EXPECT_EQ(bsp.state(), VcpuStartup::State::running);
  EXPECT_EQ(ap.state(), VcpuStartup::State::wait_for_sipi);
  EXPECT_FALSE(ap.running());
}

TEST(VcpuStartupTest, SipiStartsAtVectorTimes4K) {
  VcpuStartup ap(false);
  SipiEntry e{0xffff, 0xffffffff, 0xffff};
  ASSERT_TRUE(ap.sipi(0x9a, e));
  EXPECT_EQ(e.cs_selector, 0x9a00);
  EXPECT_EQ(e.cs_base, 0x9a000u);
  EXPECT_EQ(e.ip, 0);
  EXPECT_TRUE(ap.running());
  // The second SIPI of INIT-SIPI-SIPI does nothing to a running vCPU.
  SipiEntry e2{1, 2, 3};
  EXPECT_FALSE(ap.sipi(0x10, e2));
  EXPECT_EQ(e2.cs_selector, 1);
  EXPECT_EQ(e2.cs_base, 2u);
  EXPECT_EQ(e2.ip, 3);
  SipiEntry top{};
  VcpuStartup ap2(false);
  ASSERT_TRUE(ap2.sipi(0xff, top));
  EXPECT_EQ(top.cs_selector, 0xff00);
  EXPECT_EQ(top.cs_base, 0xff000u);
}

TEST(VcpuStartupTest, InitStopsARunningVcpuUntilTheNextSipi) {
  VcpuStartup bsp(true);
  bsp.init();
  EXPECT_EQ(bsp.state(), VcpuStartup::State::wait_for_sipi);
  bsp.init();  // INIT while waiting: still waiting
  EXPECT_EQ(bsp.state(), VcpuStartup::State::wait_for_sipi);
  SipiEntry e{};
  ASSERT_TRUE(bsp.sipi(0x01, e));
  EXPECT_EQ(e.cs_base, 0x1000u);
  EXPECT_TRUE(bsp.running());
}

}  // namespace
