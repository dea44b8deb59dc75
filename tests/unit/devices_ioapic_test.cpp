// cos::dev::IoApic: registers, edge and level delivery with remote IRR and
// EOI, and the ISA interrupt path PIT/UART -> IsaIrqRouter -> I/O APIC ->
// LocalApic that Linux uses with the MP table.
#include <gtest/gtest.h>

#include "unit/devices_test_util.hpp"
#include "devices/io_apic.hpp"
#include "devices/isa_irq_router.hpp"
#include "devices/local_apic.hpp"
#include "devices/pic8259.hpp"
#include "devices/pit8254.hpp"
#include "devices/uart8250.hpp"

using cos::dev::IoApic;
using namespace devtest;

namespace {

struct IoApicTest : ::testing::Test {
  MessageRecorder sink;
  IoApic ioapic{&sink, 1};

  uint32_t reg(uint8_t index) {
    ioapic.write(0x00, 4, index);
    return static_cast<uint32_t>(ioapic.read(0x10, 4));
  }
  void set_reg(uint8_t index, uint32_t v) {
    ioapic.write(0x00, 4, index);
    ioapic.write(0x10, 4, v);
  }
  void route(unsigned pin, uint64_t entry) {
    set_reg(static_cast<uint8_t>(0x11 + 2 * pin), static_cast<uint32_t>(entry >> 32));
    set_reg(static_cast<uint8_t>(0x10 + 2 * pin), static_cast<uint32_t>(entry));
  }
};

TEST_F(IoApicTest, IdentificationRegisters) {
  EXPECT_EQ(reg(0x00), 1u << 24);
  EXPECT_EQ(reg(0x01), 0x00170011u);  // 24 entries, version 0x11
  EXPECT_EQ(reg(0x02), 1u << 24);
  set_reg(0x00, 0x0a000000);
  EXPECT_EQ(reg(0x00), 0x0a000000u);
  set_reg(0x01, 0);  // read-only
  EXPECT_EQ(reg(0x01), 0x00170011u);
  ioapic.write(0x00, 4, 0x01);
  EXPECT_EQ(ioapic.read(0x00, 4), 0x01u);  // IOREGSEL reads back
  EXPECT_EQ(reg(0x50), 0u);                // no register
}

TEST_F(IoApicTest, RedirectionEntriesResetMaskedAndKeepReadOnlyBits) {
  for (unsigned pin = 0; pin < 24; ++pin) EXPECT_EQ(reg(static_cast<uint8_t>(0x10 + 2 * pin)), 0x10000u);
  set_reg(0x10 + 2 * 5, 0xffffffff);
  EXPECT_EQ(reg(0x10 + 2 * 5), 0x1afffu);  // delivery status and remote IRR read-only
  set_reg(0x11 + 2 * 5, 0xffffffff);
  EXPECT_EQ(reg(0x11 + 2 * 5), 0xff000000u);
}

TEST_F(IoApicTest, EdgeDelivery) {
  route(2, 0x30);  // vector 0x30, fixed, physical dest 0, edge, unmasked
  ioapic.pulse_irq(2);
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_EQ(sink.messages[0].vector, 0x30);
  EXPECT_FALSE(sink.messages[0].level);
  EXPECT_EQ(sink.messages[0].destination, 0u);
  ioapic.set_irq(2, true);
  ioapic.set_irq(2, true);  // no new edge
  EXPECT_EQ(sink.messages.size(), 2u);
  EXPECT_EQ(ioapic.entry(2) & IoApic::kRemoteIrr, 0u);
}

TEST_F(IoApicTest, MaskedEdgeIsLost) {
  route(4, 0x10000 | 0x34);
  ioapic.pulse_irq(4);
  route(4, 0x34);
  EXPECT_TRUE(sink.messages.empty());
}

TEST_F(IoApicTest, MessageFields) {
  route(7, (uint64_t(0x03) << 56) | 0x800 | (1u << 8) | 0x47);  // logical, lowest priority
  ioapic.pulse_irq(7);
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_TRUE(sink.messages[0].logical);
  EXPECT_EQ(sink.messages[0].mode, cos::dev::DeliveryMode::lowest_priority);
  EXPECT_EQ(sink.messages[0].destination, 3u);
}

TEST_F(IoApicTest, LevelRemoteIrrAndEoi) {
  route(9, IoApic::kLevel | 0x59);
  ioapic.set_irq(9, true);
  ASSERT_EQ(sink.messages.size(), 1u);
  EXPECT_TRUE(sink.messages[0].level);
  EXPECT_NE(ioapic.entry(9) & IoApic::kRemoteIrr, 0u);
  ioapic.set_irq(9, false);
  ioapic.set_irq(9, true);  // remote IRR still set: no new message
  EXPECT_EQ(sink.messages.size(), 1u);
  ioapic.eoi(0x58);  // another vector
  EXPECT_NE(ioapic.entry(9) & IoApic::kRemoteIrr, 0u);
  ioapic.eoi(0x59);  // still asserted: sent again
  EXPECT_EQ(sink.messages.size(), 2u);
  ioapic.set_irq(9, false);
  ioapic.eoi(0x59);
  EXPECT_EQ(ioapic.entry(9) & IoApic::kRemoteIrr, 0u);
  EXPECT_EQ(sink.messages.size(), 2u);
}

TEST_F(IoApicTest, UnmaskingAnAssertedLevelPinDelivers) {
  route(10, IoApic::kMasked | IoApic::kLevel | 0x5a);
  ioapic.set_irq(10, true);
  EXPECT_TRUE(sink.messages.empty());
  route(10, IoApic::kLevel | 0x5a);
  EXPECT_EQ(sink.messages.size(), 1u);
}

TEST_F(IoApicTest, UndeliveredLevelLeavesRemoteIrrClear) {
  sink.accept = false;
  route(11, IoApic::kLevel | 0x5b);
  ioapic.set_irq(11, true);
  EXPECT_EQ(ioapic.entry(11) & IoApic::kRemoteIrr, 0u);
}

TEST_F(IoApicTest, SwitchingToEdgeClearsRemoteIrr) {
  route(12, IoApic::kLevel | 0x5c);
  ioapic.set_irq(12, true);
  EXPECT_NE(ioapic.entry(12) & IoApic::kRemoteIrr, 0u);
  route(12, 0x5c);
  EXPECT_EQ(ioapic.entry(12) & IoApic::kRemoteIrr, 0u);
}

// The whole path as Linux programs it with the MP table.
struct PlatformTest : ::testing::Test {
  FakeClock clock;
  cos::dev::LocalApic lapic{clock};
  cos::dev::Pic8259Pair pic;
  IoApic ioapic{&lapic, 1};
  cos::dev::IsaIrqRouter isa{&pic, &ioapic};
  cos::dev::Pit8254 pit{clock, &isa};
  cos::dev::Uart8250 uart{clock, &isa};

  void SetUp() override {
    lapic.set_ext_int_source(&pic);
    lapic.set_eoi_listener(&ioapic);
    // Legacy PIC initialised and fully masked, LINT0 masked (check_timer()).
    outb(pic, 0x20, 0x11);
    outb(pic, 0x21, 0x30);
    outb(pic, 0x21, 0x04);
    outb(pic, 0x21, 0x01);
    outb(pic, 0xa0, 0x11);
    outb(pic, 0xa1, 0x38);
    outb(pic, 0xa1, 0x02);
    outb(pic, 0xa1, 0x01);
    outb(pic, 0x21, 0xff);
    outb(pic, 0xa1, 0xff);
    lapic.write(cos::dev::LocalApic::kLvtLint0, 4, 0x10700);
    // IRQ0 -> INTIN2 vector 0x30; IRQ4 -> INTIN4 vector 0x24 (edge, physical APIC 0).
    ioapic.write(0, 4, 0x10 + 2 * 2);
    ioapic.write(0x10, 4, 0x30);
    ioapic.write(0, 4, 0x10 + 2 * 4);
    ioapic.write(0x10, 4, 0x24);
  }
};

TEST_F(PlatformTest, PitTickReachesTheVcpuThroughGsi2) {
  outb(pit, 0x43, 0x34);
  outb(pit, 0x40, 0x9b);
  outb(pit, 0x40, 0x2e);  // 11931: 10 ms
  clock.now = pit.next_deadline_ns();
  pit.advance(clock.now);
  EXPECT_EQ(lapic.highest_pending(), 0x30);
  EXPECT_EQ(lapic.ack(), 0x30);
  EXPECT_EQ(pic.irr(0), 0x01);  // the masked PIC latched it too, harmlessly
  lapic.write(cos::dev::LocalApic::kEoi, 4, 0);
  EXPECT_EQ(lapic.highest_pending(), -1);
}

TEST_F(PlatformTest, SerialInterruptThroughGsi4) {
  outb(uart, 0x3fc, 0x08);  // OUT2
  outb(uart, 0x3f9, 0x01);  // RDA
  uart.push_input('z');
  EXPECT_EQ(lapic.ack(), 0x24);
  EXPECT_EQ(inb(uart, 0x3fa), 0x04);
  EXPECT_EQ(inb(uart, 0x3f8), 'z');
  lapic.write(cos::dev::LocalApic::kEoi, 4, 0);
  uart.push_input('y');  // the line fell when RBR was read: a new edge
  EXPECT_EQ(lapic.ack(), 0x24);
}

TEST_F(PlatformTest, LevelEoiRoundTrip) {
  ioapic.write(0, 4, 0x10 + 2 * 9);
  ioapic.write(0x10, 4, IoApic::kLevel | 0x49);
  isa.set_irq(9, true);
  EXPECT_EQ(lapic.ack(), 0x49);
  EXPECT_TRUE(lapic.tmr_bit(0x49));
  lapic.write(cos::dev::LocalApic::kEoi, 4, 0);  // still asserted: again
  EXPECT_EQ(lapic.ack(), 0x49);
  isa.set_irq(9, false);
  lapic.write(cos::dev::LocalApic::kEoi, 4, 0);
  EXPECT_EQ(lapic.ack(), -1);
  EXPECT_EQ(ioapic.entry(9) & IoApic::kRemoteIrr, 0u);
}

TEST_F(PlatformTest, Irq2HasNoIoApicPin) {
  EXPECT_EQ(cos::dev::isa_irq_to_gsi(0), 2);
  EXPECT_EQ(cos::dev::isa_irq_to_gsi(2), -1);
  EXPECT_EQ(cos::dev::isa_irq_to_gsi(15), 15);
  EXPECT_EQ(cos::dev::isa_irq_to_gsi(16), -1);
  isa.set_irq(2, true);
  EXPECT_FALSE(ioapic.line(2));
  isa.set_irq(0, true);
  EXPECT_TRUE(ioapic.line(2));
}

}  // namespace
