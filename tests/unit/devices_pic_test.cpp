// cos::dev::Pic8259Pair: initialisation (Linux's init_8259A), priorities,
// EOIs, cascade, spurious interrupts, OCW3, auto-EOI and ELCR.
#include <gtest/gtest.h>

#include "unit/devices_test_util.hpp"
#include "devices/pic8259.hpp"

using cos::dev::Pic8259Pair;
using namespace devtest;

namespace {

struct PicTest : ::testing::Test {
  Pic8259Pair pic;

  // arch/x86/kernel/i8259.c init_8259A(auto_eoi), vectors 0x30/0x38.
  void linux_init(bool auto_eoi = false) {
    outb(pic, 0x21, 0xff);
    outb(pic, 0xa1, 0xff);
    outb(pic, 0x20, 0x11);  // ICW1: edge, cascade, ICW4
    outb(pic, 0x21, 0x30);  // ICW2: vectors 0x30-0x37
    outb(pic, 0x21, 1u << 2);  // ICW3: slave on IR2
    outb(pic, 0x21, auto_eoi ? 0x03 : 0x01);  // ICW4: 8086 mode (+ AEOI)
    outb(pic, 0xa0, 0x11);
    outb(pic, 0xa1, 0x38);
    outb(pic, 0xa1, 0x02);  // slave ID 2
    outb(pic, 0xa1, 0x01);  // slave: never auto-EOI in Linux
    outb(pic, 0x21, 0x00);  // unmask all (tests mask selectively)
    outb(pic, 0xa1, 0x00);
  }
  void eoi_master() { outb(pic, 0x20, 0x20); }
  void eoi_slave() { outb(pic, 0xa0, 0x20); }
};

TEST_F(PicTest, BiosInitialState) {
  EXPECT_EQ(pic.vector_base(0), 0x08);
  EXPECT_EQ(pic.vector_base(1), 0x70);
  EXPECT_EQ(inb(pic, 0x21), 0xfb);
  EXPECT_EQ(inb(pic, 0xa1), 0xff);
  pic.pulse_irq(0);
  EXPECT_EQ(pic.pending_vector(), -1);  // masked
  // Linux's probe_8259A(): the mask register reads back.
  outb(pic, 0x21, 0xfb);
  EXPECT_EQ(inb(pic, 0x21), 0xfb);
}

TEST_F(PicTest, InitSequence) {
  linux_init();
  EXPECT_EQ(pic.vector_base(0), 0x30);
  EXPECT_EQ(pic.vector_base(1), 0x38);
  EXPECT_EQ(inb(pic, 0x21), 0x00);
  outb(pic, 0x21, 0xfb);
  EXPECT_EQ(inb(pic, 0x21), 0xfb);
  EXPECT_EQ(pic.pending_vector(), -1);
}

TEST_F(PicTest, EdgeInterruptAckAndEoi) {
  linux_init();
  pic.pulse_irq(0);
  EXPECT_EQ(pic.irr(0), 0x01);  // the latch survives the line dropping
  EXPECT_EQ(pic.pending_vector(), 0x30);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  EXPECT_EQ(pic.isr(0), 0x01);
  EXPECT_EQ(pic.irr(0), 0x00);
  EXPECT_EQ(pic.pending_vector(), -1);
  pic.pulse_irq(0);  // same level in service: blocked
  EXPECT_EQ(pic.pending_vector(), -1);
  eoi_master();
  EXPECT_EQ(pic.isr(0), 0x00);
  EXPECT_EQ(pic.pending_vector(), 0x30);
}

TEST_F(PicTest, EdgeNeedsARisingEdge) {
  linux_init();
  pic.set_irq(4, true);
  EXPECT_EQ(pic.acknowledge(), 0x34);
  eoi_master();
  pic.set_irq(4, true);  // still high: no new edge
  EXPECT_EQ(pic.pending_vector(), -1);
  pic.set_irq(4, false);
  pic.set_irq(4, true);
  EXPECT_EQ(pic.pending_vector(), 0x34);
}

TEST_F(PicTest, FixedPriorityAndNesting) {
  linux_init();
  pic.pulse_irq(3);
  pic.pulse_irq(1);
  EXPECT_EQ(pic.acknowledge(), 0x31);  // IR1 beats IR3
  EXPECT_EQ(pic.pending_vector(), -1);  // IR3 is lower than IR1 in service
  pic.pulse_irq(0);
  EXPECT_EQ(pic.acknowledge(), 0x30);  // IR0 nests
  EXPECT_EQ(pic.isr(0), 0x03);
  eoi_master();  // non-specific: clears the highest (IR0)
  EXPECT_EQ(pic.isr(0), 0x02);
  eoi_master();
  EXPECT_EQ(pic.acknowledge(), 0x33);
}

TEST_F(PicTest, MaskHoldsRequest) {
  linux_init();
  outb(pic, 0x21, 0x10);
  pic.pulse_irq(4);
  EXPECT_EQ(pic.pending_vector(), -1);
  EXPECT_EQ(pic.irr(0), 0x10);
  outb(pic, 0x21, 0x00);
  EXPECT_EQ(pic.pending_vector(), 0x34);
}

TEST_F(PicTest, CascadeThroughIr2) {
  linux_init();
  pic.pulse_irq(12);
  EXPECT_EQ(pic.pending_vector(), 0x3c);
  EXPECT_EQ(pic.acknowledge(), 0x3c);
  EXPECT_EQ(pic.isr(1), 0x10);
  EXPECT_EQ(pic.isr(0), 0x04);
  pic.pulse_irq(14);  // lower than 12 on the slave; IR2 in service on the master
  EXPECT_EQ(pic.pending_vector(), -1);
  eoi_slave();
  EXPECT_EQ(pic.pending_vector(), -1);  // master IR2 still in service
  eoi_master();
  EXPECT_EQ(pic.acknowledge(), 0x3e);
}

TEST_F(PicTest, SlaveRequestPendingAfterAckRaisesIr2Again) {
  linux_init();
  pic.pulse_irq(9);
  pic.pulse_irq(8);
  EXPECT_EQ(pic.acknowledge(), 0x38);
  eoi_slave();
  eoi_master();
  EXPECT_EQ(pic.pending_vector(), 0x39);
}

TEST_F(PicTest, SpuriousIrq7) {
  linux_init();
  EXPECT_EQ(pic.acknowledge(), 0x37);
  EXPECT_EQ(pic.isr(0), 0x00);  // a spurious IRQ 7 sets no ISR bit
}

TEST_F(PicTest, SpuriousIrq15) {
  linux_init();
  outb(pic, 0x4d1, 0x02);  // IRQ 9 level-triggered
  pic.set_irq(9, true);
  EXPECT_EQ(pic.pending_vector(), 0x39);
  pic.set_irq(9, false);  // request withdrawn before INTA
  // The master still latched IR2's edge; the slave has nothing: IRQ 15.
  EXPECT_EQ(pic.pending_vector(), 0x3f);
  EXPECT_EQ(pic.acknowledge(), 0x3f);
  EXPECT_EQ(pic.isr(1), 0x00);
  EXPECT_EQ(pic.isr(0), 0x04);  // the master acknowledged IR2
  eoi_master();
}

TEST_F(PicTest, Ocw3ReadIrrIsrAndPoll) {
  linux_init();
  pic.pulse_irq(5);
  pic.pulse_irq(6);
  outb(pic, 0x20, 0x0a);  // read IRR
  EXPECT_EQ(inb(pic, 0x20), 0x60);
  EXPECT_EQ(pic.acknowledge(), 0x35);
  outb(pic, 0x20, 0x0b);  // read ISR
  EXPECT_EQ(inb(pic, 0x20), 0x20);
  EXPECT_EQ(inb(pic, 0x20), 0x20);  // the selection sticks
  eoi_master();
  outb(pic, 0x20, 0x0c);  // poll
  EXPECT_EQ(inb(pic, 0x20), 0x86);  // IR6, acknowledged
  EXPECT_EQ(pic.isr(0), 0x40);
  outb(pic, 0x20, 0x0c);
  EXPECT_EQ(inb(pic, 0x20), 0x00);  // nothing pending
}

TEST_F(PicTest, SpecificEoi) {
  linux_init();
  pic.pulse_irq(1);
  pic.pulse_irq(0);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  pic.pulse_irq(1);  // already latched
  outb(pic, 0x20, 0x60 | 0);  // specific EOI IR0
  EXPECT_EQ(pic.acknowledge(), 0x31);
  outb(pic, 0x20, 0x60 | 1);
  EXPECT_EQ(pic.isr(0), 0x00);
}

TEST_F(PicTest, AutoEoi) {
  linux_init(true);
  pic.pulse_irq(3);
  EXPECT_EQ(pic.acknowledge(), 0x33);
  EXPECT_EQ(pic.isr(0), 0x00);
  pic.pulse_irq(3);
  EXPECT_EQ(pic.pending_vector(), 0x33);
}

TEST_F(PicTest, RotateOnNonSpecificEoi) {
  linux_init();
  pic.pulse_irq(0);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  outb(pic, 0x20, 0xa0);  // rotate on non-specific EOI: IR0 becomes lowest
  pic.pulse_irq(0);
  pic.pulse_irq(5);
  EXPECT_EQ(pic.acknowledge(), 0x35);
}

TEST_F(PicTest, SetPriority) {
  linux_init();
  outb(pic, 0x20, 0xc0 | 3);  // IR3 lowest -> IR4 highest
  pic.pulse_irq(0);
  pic.pulse_irq(4);
  EXPECT_EQ(pic.acknowledge(), 0x34);
}

TEST_F(PicTest, ElcrLevelTriggered) {
  linux_init();
  outb(pic, 0x4d0, 0xff);
  EXPECT_EQ(inb(pic, 0x4d0), 0xf8);  // IRQ 0-2 are always edge
  outb(pic, 0x4d1, 0xff);
  EXPECT_EQ(inb(pic, 0x4d1), 0xde);  // IRQ 8 and 13 too
  outb(pic, 0x4d0, 0x00);
  outb(pic, 0x4d1, 0x08);  // IRQ 11 level
  pic.set_irq(11, true);
  EXPECT_EQ(pic.acknowledge(), 0x3b);
  EXPECT_EQ(pic.irr(1), 0x08);  // a level request stays while the line is high
  eoi_slave();
  eoi_master();
  EXPECT_EQ(pic.pending_vector(), 0x3b);  // still asserted: again
  pic.set_irq(11, false);
  EXPECT_EQ(pic.irr(1), 0x00);
}

TEST_F(PicTest, Icw1LtimLevelMode) {
  outb(pic, 0x20, 0x19);  // LTIM
  outb(pic, 0x21, 0x20);
  outb(pic, 0x21, 0x04);
  outb(pic, 0x21, 0x01);
  pic.set_irq(3, true);
  EXPECT_EQ(pic.pending_vector(), 0x23);
  pic.set_irq(3, false);
  EXPECT_EQ(pic.pending_vector(), -1);
}

TEST_F(PicTest, SpecialMaskMode) {
  linux_init();
  pic.pulse_irq(1);
  EXPECT_EQ(pic.acknowledge(), 0x31);
  outb(pic, 0x21, 0x02);  // mask the in-service IR1
  outb(pic, 0x20, 0x68);  // OCW3: set special mask
  pic.pulse_irq(5);
  EXPECT_EQ(pic.pending_vector(), 0x35);  // lower priority allowed in special mask mode
  outb(pic, 0x20, 0x48);  // reset special mask
  EXPECT_EQ(pic.pending_vector(), -1);
}

TEST_F(PicTest, ReinitClearsState) {
  linux_init();
  pic.pulse_irq(3);
  pic.acknowledge();
  linux_init();
  EXPECT_EQ(pic.isr(0), 0x00);
  EXPECT_EQ(pic.irr(0), 0x00);
}

}  // namespace
