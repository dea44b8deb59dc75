// cos::dev::Pit8254: counting against the Clock, Linux's TSC calibration
// loops (arch/x86/kernel/tsc.c pit_calibrate_tsc, quick_pit_calibrate), the
// PIT clockevent (i8253: periodic mode 2, one-shot mode 4, shutdown), latch
// and read-back commands, gates and port 0x61.
#include <gtest/gtest.h>

#include "unit/devices_test_util.hpp"
#include "devices/pit8254.hpp"
#include "devices/util.hpp"

using cos::dev::Pit8254;
using namespace devtest;

namespace {

constexpr uint64_t kHz = Pit8254::kFrequencyHz;

uint64_t ns_for_ticks(uint64_t t) { return Pit8254::ticks_to_ns(t); }

struct PitTest : ::testing::Test {
  FakeClock clock;
  IrqRecorder irq;
  Pit8254 pit{clock, &irq};

  uint16_t read_lohi(uint16_t port) {
    uint8_t lo = inb(pit, port);
    uint8_t hi = inb(pit, port);
    return static_cast<uint16_t>(hi << 8 | lo);
  }
};

TEST_F(PitTest, TicksToNs) {
  EXPECT_EQ(ns_for_ticks(0), 0u);
  EXPECT_EQ(ns_for_ticks(kHz), 1'000'000'000u);
  EXPECT_EQ(ns_for_ticks(1), 839u);  // 838.1 ns, rounded up
}

// pit_calibrate_tsc(): gate high, channel 2 mode 0 with a 50 ms latch, poll
// port 0x61 bit 5 until OUT2 goes high.
TEST_F(PitTest, LinuxPitCalibrateTsc) {
  clock.now = 123'456'789;
  outb(pit, 0x61, (inb(pit, 0x61) & ~0x02) | 0x01);
  const uint32_t latch = kHz / (1000 / 50);  // CLOCK_TICK_RATE / (1000 / ms)
  outb(pit, 0x43, 0xb0);
  outb(pit, 0x42, latch & 0xff);
  outb(pit, 0x42, latch >> 8);
  uint64_t start = clock.now;
  unsigned polls = 0;
  while ((inb(pit, 0x61) & 0x20) == 0) {
    clock.advance_ns(997);  // a poll every ~1 us
    ++polls;
    ASSERT_LT(polls, 100'000u);
  }
  uint64_t elapsed = clock.now - start;
  // OUT2 rises exactly latch ticks (41.9 ms) after the load.
  EXPECT_GE(elapsed, ns_for_ticks(latch));
  EXPECT_LT(elapsed, ns_for_ticks(latch) + 997);
  EXPECT_NEAR(static_cast<double>(elapsed), 50e6 * latch / (kHz / 20.0), 2000.0);
  EXPECT_TRUE(pit.out(2));
}

// quick_pit_calibrate(): mode 0 from 0xffff, reading LSB then MSB; the MSB
// must step down by one every 256 ticks.
TEST_F(PitTest, LinuxQuickPitCalibrate) {
  clock.now = 5'000'000;
  outb(pit, 0x61, (inb(pit, 0x61) & ~0x02) | 0x01);
  outb(pit, 0x43, 0xb0);
  outb(pit, 0x42, 0xff);
  outb(pit, 0x42, 0xff);
  uint64_t start = clock.now;
  for (unsigned i = 0; i < 200; ++i) {
    uint64_t ticks = cos::dev::muldiv(clock.now - start, kHz, 1'000'000'000);
    EXPECT_EQ(read_lohi(0x42), static_cast<uint16_t>(0xffff - ticks)) << "at tick " << ticks;
    clock.advance_ns(30'011);  // about 36 ticks
  }
  // The MSB equals 0xff - i exactly during the i-th 256-tick window.
  clock.now = start + ns_for_ticks(256 * 10 + 255);
  inb(pit, 0x42);
  EXPECT_EQ(inb(pit, 0x42), 0xff - 10);
  clock.now = start + ns_for_ticks(256 * 10 + 256);
  inb(pit, 0x42);
  EXPECT_EQ(inb(pit, 0x42), 0xff - 11);
}

TEST_F(PitTest, Mode0GateLowPausesCounting) {
  outb(pit, 0x61, 0x00);  // gate 2 low
  outb(pit, 0x43, 0xb0);
  outb(pit, 0x42, 100);
  outb(pit, 0x42, 0);
  clock.advance_ms(1);
  EXPECT_EQ(pit.counter(2), 100);  // not counting while GATE is low
  outb(pit, 0x61, 0x01);
  clock.now += ns_for_ticks(40);
  EXPECT_EQ(pit.counter(2), 60);
  outb(pit, 0x61, 0x00);
  clock.advance_ms(5);
  EXPECT_EQ(pit.counter(2), 60);
  EXPECT_FALSE(pit.out(2));
  outb(pit, 0x61, 0x01);
  clock.now += ns_for_ticks(60);
  EXPECT_TRUE(pit.out(2));
  EXPECT_EQ(pit.counter(2), 0);
}

TEST_F(PitTest, Port61Bits) {
  outb(pit, 0x61, 0x03);
  uint8_t a = inb(pit, 0x61);
  uint8_t b = inb(pit, 0x61);
  EXPECT_EQ(a & 0x0f, 0x03);
  EXPECT_NE(a & 0x10, b & 0x10);  // refresh toggles
  EXPECT_EQ(a & 0xc0, 0);
  outb(pit, 0x61, 0xfc);
  EXPECT_EQ(inb(pit, 0x61) & 0x0f, 0x0c);
}

TEST_F(PitTest, Out2InModesAfterControlWord) {
  outb(pit, 0x61, 0x01);
  outb(pit, 0x43, 0xb6);  // channel 2, lohi, mode 3 (the speaker setting)
  EXPECT_TRUE(pit.out(2));
  outb(pit, 0x43, 0xb0);  // mode 0: OUT low until terminal count
  EXPECT_FALSE(pit.out(2));
  EXPECT_EQ(inb(pit, 0x61) & 0x20, 0);
}

// i8253 clockevent, periodic: control word 0x34 (channel 0, lohi, mode 2),
// LATCH for HZ = 250.
TEST_F(PitTest, Channel0PeriodicMode2) {
  const uint32_t latch = (kHz + 125) / 250;  // 4773
  clock.now = 1'000'000;
  outb(pit, 0x43, 0x34);
  outb(pit, 0x40, latch & 0xff);
  EXPECT_EQ(pit.next_deadline_ns(), cos::dev::kNoDeadline);  // half-written count
  outb(pit, 0x40, latch >> 8);
  uint64_t t0 = clock.now;
  uint64_t d1 = pit.next_deadline_ns();
  EXPECT_EQ(d1, t0 + ns_for_ticks(latch));
  clock.now = d1 - 1;
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 0u);
  clock.now = d1;
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 1u);
  EXPECT_FALSE(irq.level[0]);  // a pulse
  EXPECT_EQ(pit.next_deadline_ns(), t0 + ns_for_ticks(2 * latch));
  // Ten periods: ten interrupts, no drift.
  for (int k = 2; k <= 11; ++k) {
    clock.now = pit.next_deadline_ns();
    pit.advance(clock.now);
  }
  EXPECT_EQ(irq.rises[0], 11u);
  EXPECT_EQ(pit.next_deadline_ns(), t0 + ns_for_ticks(12 * latch));
  // Oversleeping five periods gives one interrupt and the next boundary.
  clock.now = t0 + ns_for_ticks(17 * latch) + 10;
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 12u);
  EXPECT_EQ(pit.next_deadline_ns(), t0 + ns_for_ticks(18 * latch));
  // Mode 2 counter: N, N-1, ..., 1, N, ...
  clock.now = t0 + ns_for_ticks(18 * latch + 5);
  outb(pit, 0x43, 0x00);  // latch channel 0
  EXPECT_EQ(read_lohi(0x40), latch - 5);
}

// i8253 clockevent, one-shot: control word 0x38 (mode 4), then each event's count.
TEST_F(PitTest, Channel0OneShotMode4) {
  outb(pit, 0x43, 0x38);
  EXPECT_EQ(pit.next_deadline_ns(), cos::dev::kNoDeadline);
  clock.now = 10'000;
  outb(pit, 0x40, 100);
  outb(pit, 0x40, 0);
  uint64_t d = pit.next_deadline_ns();
  EXPECT_EQ(d, 10'000 + ns_for_ticks(101));  // OUT rises after the strobe at count 0
  clock.now = d;
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 1u);
  EXPECT_EQ(pit.next_deadline_ns(), cos::dev::kNoDeadline);
  clock.advance_ms(100);
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 1u);
  // The next event.
  outb(pit, 0x40, 0x10);
  outb(pit, 0x40, 0x00);
  clock.now = pit.next_deadline_ns();
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 2u);
}

TEST_F(PitTest, Channel0Mode0InterruptOnTerminalCount) {
  outb(pit, 0x43, 0x30);
  outb(pit, 0x40, 0x00);
  outb(pit, 0x40, 0x01);  // 256
  EXPECT_EQ(pit.next_deadline_ns(), ns_for_ticks(256));
  clock.now = ns_for_ticks(256);
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 1u);
  EXPECT_TRUE(pit.out(0));
  EXPECT_EQ(pit.next_deadline_ns(), cos::dev::kNoDeadline);
}

// pit_shutdown(): control word only (mode 0, no count): no more interrupts.
TEST_F(PitTest, LinuxPitShutdown) {
  outb(pit, 0x43, 0x34);
  outb(pit, 0x40, 0x9b);
  outb(pit, 0x40, 0x2e);
  EXPECT_NE(pit.next_deadline_ns(), cos::dev::kNoDeadline);
  outb(pit, 0x43, 0x30);
  EXPECT_EQ(pit.next_deadline_ns(), cos::dev::kNoDeadline);
  clock.advance_ms(1000);
  pit.advance(clock.now);
  EXPECT_EQ(irq.rises[0], 0u);
  EXPECT_FALSE(pit.out(0));
}

TEST_F(PitTest, LatchFreezesValueUntilRead) {
  outb(pit, 0x61, 0x01);
  outb(pit, 0x43, 0xb0);
  outb(pit, 0x42, 0x00);
  outb(pit, 0x42, 0x10);  // 0x1000
  clock.now = ns_for_ticks(0x100);
  outb(pit, 0x43, 0x80);  // latch channel 2
  clock.now = ns_for_ticks(0x200);
  outb(pit, 0x43, 0x80);  // ignored: already latched
  EXPECT_EQ(read_lohi(0x42), 0x0f00);
  EXPECT_EQ(read_lohi(0x42), 0x0e00);  // live again
}

TEST_F(PitTest, ReadBackStatusAndCount) {
  outb(pit, 0x43, 0x34);  // channel 0 mode 2 lohi, no count yet
  outb(pit, 0x43, 0xe2);  // read-back: status of channel 0
  uint8_t status = inb(pit, 0x40);
  EXPECT_EQ(status & 0x40, 0x40);  // null count
  EXPECT_EQ(status & 0x3f, 0x34);  // rw 3, mode 2, binary
  EXPECT_EQ(status & 0x80, 0x80);  // OUT high in mode 2
  outb(pit, 0x40, 0x00);
  outb(pit, 0x40, 0x20);  // 0x2000
  clock.now = ns_for_ticks(0x10);
  outb(pit, 0x43, 0xc2);  // count and status: status reads first
  status = inb(pit, 0x40);
  EXPECT_EQ(status & 0x40, 0);
  EXPECT_EQ(read_lohi(0x40), 0x2000 - 0x10);
  outb(pit, 0x43, 0xd2);  // count only
  EXPECT_EQ(read_lohi(0x40), 0x2000 - 0x10);
}

TEST_F(PitTest, LsbOnlyAndMsbOnlyAccess) {
  outb(pit, 0x43, 0x50);  // channel 1, LSB only, mode 0
  outb(pit, 0x41, 0x80);
  clock.now = ns_for_ticks(0x10);
  EXPECT_EQ(inb(pit, 0x41), 0x70);
  EXPECT_EQ(inb(pit, 0x41), 0x70);
  outb(pit, 0x43, 0x60);  // MSB only
  outb(pit, 0x41, 0x02);  // 0x200
  clock.now += ns_for_ticks(0x100);
  EXPECT_EQ(inb(pit, 0x41), 0x01);
}

TEST_F(PitTest, Mode3SquareWave) {
  outb(pit, 0x43, 0x36);  // channel 0, mode 3
  outb(pit, 0x40, 100);
  outb(pit, 0x40, 0);
  EXPECT_TRUE(pit.out(0));
  clock.now = ns_for_ticks(49);
  EXPECT_TRUE(pit.out(0));
  clock.now = ns_for_ticks(50);
  EXPECT_FALSE(pit.out(0));
  clock.now = ns_for_ticks(100);
  EXPECT_TRUE(pit.out(0));
  clock.now = ns_for_ticks(10);
  EXPECT_EQ(pit.counter(0), 80);  // counts down by two
  EXPECT_EQ(pit.next_deadline_ns(), ns_for_ticks(100));
}

TEST_F(PitTest, BcdCounting) {
  outb(pit, 0x43, 0xb1);  // channel 2, lohi, mode 0, BCD
  outb(pit, 0x61, 0x01);
  outb(pit, 0x42, 0x00);
  outb(pit, 0x42, 0x10);  // 1000 decimal
  clock.now = ns_for_ticks(1);
  EXPECT_EQ(read_lohi(0x42), 0x0999);
  clock.now = ns_for_ticks(1000);
  EXPECT_EQ(read_lohi(0x42), 0x0000);
  EXPECT_TRUE(pit.out(2));
}

TEST_F(PitTest, ZeroCountIs65536) {
  outb(pit, 0x43, 0x30);
  outb(pit, 0x40, 0);
  outb(pit, 0x40, 0);
  EXPECT_EQ(pit.next_deadline_ns(), ns_for_ticks(65536));
  clock.now = ns_for_ticks(1);
  EXPECT_EQ(pit.counter(0), 0xffff);
}

TEST_F(PitTest, Mode0FirstByteStopsCounting) {
  outb(pit, 0x61, 0x01);
  outb(pit, 0x43, 0xb0);
  outb(pit, 0x42, 10);
  outb(pit, 0x42, 0);
  clock.now = ns_for_ticks(20);
  EXPECT_TRUE(pit.out(2));
  outb(pit, 0x42, 50);  // first byte of a new count
  EXPECT_FALSE(pit.out(2));
  outb(pit, 0x42, 0);
  clock.now += ns_for_ticks(50);
  EXPECT_TRUE(pit.out(2));
}

TEST_F(PitTest, Mode2GateRestarts) {
  outb(pit, 0x61, 0x01);
  outb(pit, 0x43, 0xb4);  // channel 2, mode 2
  outb(pit, 0x42, 100);
  outb(pit, 0x42, 0);
  clock.now = ns_for_ticks(30);
  EXPECT_EQ(pit.counter(2), 70);
  outb(pit, 0x61, 0x00);  // stop
  EXPECT_TRUE(pit.out(2));
  clock.now += ns_for_ticks(1000);
  outb(pit, 0x61, 0x01);  // reload and restart
  EXPECT_EQ(pit.counter(2), 100);
  clock.now += ns_for_ticks(99);
  EXPECT_FALSE(pit.out(2));  // the one-clock low pulse at count 1
  clock.now += ns_for_ticks(1);
  EXPECT_TRUE(pit.out(2));
}

}  // namespace
