// cos::dev::CmosRtc: date arithmetic, register formats, advancing with the
// Clock, UIP and Linux's mc146818_get_time loop, SET and divider control,
// and the periodic/update/alarm interrupts.
#include <gtest/gtest.h>

#include "devices/cmos_rtc.hpp"
#include "unit/devices_test_util.hpp"

using cos::dev::CmosRtc;
using cos::dev::RtcDate;
using namespace devtest;

namespace {

constexpr uint64_t kSecNs = 1'000'000'000;

TEST(RtcDates, EpochConversions) {
  EXPECT_EQ(CmosRtc::to_epoch({1970, 1, 1, 0, 0, 0}), 0u);
  EXPECT_EQ(CmosRtc::to_epoch({2000, 1, 1, 0, 0, 0}), 946684800u);
  EXPECT_EQ(CmosRtc::to_epoch({2026, 1, 1, 0, 0, 0}), 1767225600u);
  EXPECT_EQ(CmosRtc::to_epoch({2024, 2, 29, 12, 34, 56}), 1709210096u);
  for (uint64_t s : {0ull, 951782400ull, 1709210096ull, 4102444799ull, 4107542400ull}) {
    RtcDate d = CmosRtc::from_epoch(s);
    EXPECT_EQ(CmosRtc::to_epoch(d), s);
  }
  RtcDate d = CmosRtc::from_epoch(4107542400ull);  // 2100-03-01: 2100 is not a leap year
  EXPECT_EQ(d.year, 2100);
  EXPECT_EQ(d.month, 3);
  EXPECT_EQ(d.day, 1);
}

TEST(RtcDates, DecodeHostRegisters) {
  uint8_t regs[10] = {0x56, 0, 0x34, 0, 0x92, 0, 0, 0x29, 0x02, 0x24};  // 12:34:56 PM (12h BCD)
  RtcDate d = CmosRtc::decode(regs, 0x00, 0x20);
  EXPECT_EQ(d.year, 2024);
  EXPECT_EQ(d.month, 2);
  EXPECT_EQ(d.day, 29);
  EXPECT_EQ(d.hour, 12);
  EXPECT_EQ(d.minute, 34);
  EXPECT_EQ(d.second, 56);
  regs[4] = 0x12;  // 12 AM = 0h
  EXPECT_EQ(CmosRtc::decode(regs, 0x00, 0x20).hour, 0);
  uint8_t bin[10] = {56, 0, 34, 0, 23, 0, 0, 31, 12, 99};
  d = CmosRtc::decode(bin, 0x06, 0);  // binary 24h, no century byte -> 1999
  EXPECT_EQ(d.year, 1999);
  EXPECT_EQ(d.hour, 23);
}

struct RtcTest : ::testing::Test {
  FakeClock clock;
  IrqRecorder irq;
  CmosRtc rtc{clock, &irq, RtcDate{2026, 11, 21, 23, 59, 58}};

  uint8_t r(uint8_t index) {
    outb(rtc, 0x70, index);
    return inb(rtc, 0x71);
  }
  void w(uint8_t index, uint8_t v) {
    outb(rtc, 0x70, index);
    outb(rtc, 0x71, v);
  }
};

TEST_F(RtcTest, InitialBcdTime) {
  EXPECT_EQ(r(0x00), 0x58);
  EXPECT_EQ(r(0x02), 0x59);
  EXPECT_EQ(r(0x04), 0x23);
  EXPECT_EQ(r(0x06), 7);  // Saturday
  EXPECT_EQ(r(0x07), 0x21);
  EXPECT_EQ(r(0x08), 0x11);
  EXPECT_EQ(r(0x09), 0x26);
  EXPECT_EQ(r(0x32), 0x20);
  EXPECT_EQ(r(0x0a), 0x26);
  EXPECT_EQ(r(0x0b), 0x02);
  EXPECT_EQ(r(0x0d), 0x80);  // VRT, bit 6 clear as Linux checks
  EXPECT_EQ(inb(rtc, 0x70), 0xff);
}

TEST_F(RtcTest, AdvancesWithClock) {
  clock.now = 2 * kSecNs;  // 2026-11-22 00:00:00
  EXPECT_EQ(r(0x00), 0x00);
  EXPECT_EQ(r(0x04), 0x00);
  EXPECT_EQ(r(0x07), 0x22);
  EXPECT_EQ(r(0x06), 1);  // Sunday
  clock.now += 40ull * 86400 * kSecNs;  // 2027-01-01
  EXPECT_EQ(r(0x09), 0x27);
  EXPECT_EQ(r(0x08), 0x01);
  EXPECT_EQ(r(0x07), 0x01);
  RtcDate d = rtc.date();
  EXPECT_EQ(d.year, 2027);
}

TEST_F(RtcTest, BinaryAnd12HourFormats) {
  w(0x0b, 0x06);  // binary, 24h
  EXPECT_EQ(r(0x00), 58);
  EXPECT_EQ(r(0x04), 23);
  EXPECT_EQ(r(0x09), 26);
  w(0x0b, 0x04);  // binary, 12h
  EXPECT_EQ(r(0x04), 0x80 | 11);
  w(0x0b, 0x00);  // BCD, 12h
  EXPECT_EQ(r(0x04), 0x80 | 0x11);
  clock.now = 2 * kSecNs;  // midnight = 12 AM
  EXPECT_EQ(r(0x04), 0x12);
}

// Linux's mc146818_get_time(): read seconds, check UIP (retry after 1 ms),
// read the rest, check UIP and the seconds again.
bool linux_read_time(RtcTest& t, RtcDate& out, unsigned& retries) {
  for (retries = 0; retries < 100; ++retries) {
    if ((t.r(0x0d) & 0x40) != 0) return false;
    uint8_t sec = t.r(0x00);
    if (t.r(0x0a) & 0x80) {
      t.clock.advance_ms(1);
      continue;
    }
    uint8_t min = t.r(0x02), hour = t.r(0x04), day = t.r(0x07), mon = t.r(0x08), year = t.r(0x09);
    t.clock.advance_us(30);
    bool uip = t.r(0x0a) & 0x80;
    if (uip || sec != t.r(0x00)) continue;
    uint8_t regs[10] = {sec, 0, min, 0, hour, 0, 0, day, mon, year};
    out = CmosRtc::decode(regs, t.r(0x0b), 0);
    return true;
  }
  return false;
}

TEST_F(RtcTest, UpdateInProgressWindow) {
  clock.now = kSecNs - 244'001;
  EXPECT_EQ(r(0x0a) & 0x80, 0);
  clock.now = kSecNs - 244'000;
  EXPECT_EQ(r(0x0a) & 0x80, 0x80);
  EXPECT_EQ(r(0x00), 0x58);  // the update has not happened yet
  clock.now = kSecNs;
  EXPECT_EQ(r(0x0a) & 0x80, 0);
  EXPECT_EQ(r(0x00), 0x59);
}

TEST_F(RtcTest, LinuxReadLoopCompletesAroundUpdates) {
  for (uint64_t phase : {0ull, 500'000'000ull, 999'700'000ull, 999'900'000ull, 999'990'000ull}) {
    clock.now = 10 * kSecNs + phase;
    RtcDate d;
    unsigned retries = 0;
    ASSERT_TRUE(linux_read_time(*this, d, retries)) << phase;
    EXPECT_LE(retries, 2u);
    EXPECT_EQ(CmosRtc::to_epoch(d), CmosRtc::to_epoch(rtc.date()));
  }
}

TEST_F(RtcTest, SetFreezesAndWritesTime) {
  w(0x0b, 0x82);  // SET
  clock.now = 5 * kSecNs;
  EXPECT_EQ(r(0x00), 0x58);  // frozen
  EXPECT_EQ(r(0x0a) & 0x80, 0);
  w(0x00, 0x30);
  w(0x02, 0x15);
  w(0x04, 0x10);
  w(0x07, 0x01);
  w(0x08, 0x06);
  w(0x09, 0x30);
  clock.now = 7 * kSecNs;
  EXPECT_EQ(r(0x00), 0x30);
  w(0x0b, 0x02);  // release
  EXPECT_EQ(r(0x00), 0x30);
  clock.now = 8 * kSecNs;
  EXPECT_EQ(r(0x00), 0x31);  // the divider chain kept its phase
  RtcDate d = rtc.date();
  EXPECT_EQ(d.year, 2030);
  EXPECT_EQ(d.month, 6);
  EXPECT_EQ(d.day, 1);
  EXPECT_EQ(d.hour, 10);
  EXPECT_EQ(d.minute, 15);
}

TEST_F(RtcTest, WriteWhileRunningSetsTime) {
  clock.now = kSecNs / 2;
  w(0x02, 0x00);  // minutes := 0
  EXPECT_EQ(r(0x02), 0x00);
  EXPECT_EQ(r(0x00), 0x58);
  clock.now = kSecNs;
  EXPECT_EQ(r(0x00), 0x59);
  EXPECT_EQ(r(0x04), 0x23);
}

TEST_F(RtcTest, DividerResetStopsAndRestartsHalfASecondLater) {
  w(0x0a, 0x70);  // divider reset
  clock.now = 10 * kSecNs;
  EXPECT_EQ(r(0x00), 0x58);
  w(0x0a, 0x26);
  clock.now += kSecNs / 2 - 1;
  EXPECT_EQ(r(0x00), 0x58);
  clock.now += 1;
  EXPECT_EQ(r(0x00), 0x59);
}

TEST_F(RtcTest, NmiDisableBitAndNvram) {
  outb(rtc, 0x70, 0x80 | 0x0f);
  EXPECT_TRUE(rtc.nmi_disabled());
  outb(rtc, 0x71, 0x5a);
  outb(rtc, 0x70, 0x0f);
  EXPECT_FALSE(rtc.nmi_disabled());
  EXPECT_EQ(inb(rtc, 0x71), 0x5a);
  rtc.set_nvram(0x40, 0x12);
  EXPECT_EQ(r(0x40), 0x12);
  rtc.set_nvram(0x0c, 0x12);  // not RAM
  EXPECT_EQ(rtc.nvram(0x0c), 0x00);
  w(0x0d, 0x00);  // read-only
  EXPECT_EQ(r(0x0d), 0x80);
}

TEST_F(RtcTest, PeriodicInterrupt) {
  EXPECT_EQ(rtc.next_deadline_ns(), cos::dev::kNoDeadline);
  w(0x0b, 0x42);  // PIE, 1024 Hz (RS = 6)
  uint64_t d = rtc.next_deadline_ns();
  EXPECT_EQ(d, 976'563u);  // 32 / 32768 s, rounded up
  clock.now = d - 1;
  rtc.advance(clock.now);
  EXPECT_FALSE(irq.level[8]);
  clock.now = d;
  rtc.advance(clock.now);
  EXPECT_TRUE(irq.level[8]);
  EXPECT_EQ(rtc.next_deadline_ns(), cos::dev::kNoDeadline);  // pending until C is read
  EXPECT_EQ(r(0x0c), 0xc0);  // IRQF | PF
  EXPECT_FALSE(irq.level[8]);
  EXPECT_EQ(r(0x0c), 0x00);
  EXPECT_EQ(rtc.next_deadline_ns(), 2 * 976'563u - 1);  // 2 * 32/32768 s = 1953125 ns
  w(0x0a, 0x2f);  // RS = 15: 2 Hz
  EXPECT_EQ(rtc.next_deadline_ns(), clock.now + kSecNs / 2);
}

TEST_F(RtcTest, FlagsSetEvenWhenDisabled) {
  clock.now = 3 * kSecNs;
  uint8_t c = r(0x0c);
  EXPECT_EQ(c & 0x50, 0x50);  // PF and UF, no IRQF
  EXPECT_EQ(c & 0x80, 0);
  EXPECT_FALSE(irq.level[8]);
}

TEST_F(RtcTest, UpdateEndedInterrupt) {
  w(0x0b, 0x12);  // UIE
  EXPECT_EQ(rtc.next_deadline_ns(), kSecNs);
  clock.now = kSecNs;
  rtc.advance(clock.now);
  EXPECT_TRUE(irq.level[8]);
  EXPECT_EQ(r(0x0c) & 0x90, 0x90);
  EXPECT_EQ(rtc.next_deadline_ns(), 2 * kSecNs);
  w(0x0b, 0x92);  // SET clears UIE
  EXPECT_EQ(r(0x0b), 0x82);
}

TEST_F(RtcTest, AlarmInterrupt) {
  w(0x01, 0x05);  // 00:00:05
  w(0x03, 0x00);
  w(0x05, 0x00);
  w(0x0b, 0x22);  // AIE
  clock.now = 6 * kSecNs;  // 2026-11-22 00:00:04
  rtc.advance(clock.now);
  EXPECT_FALSE(irq.level[8]);
  clock.now = 7 * kSecNs;  // 00:00:05
  rtc.advance(clock.now);
  EXPECT_TRUE(irq.level[8]);
  EXPECT_EQ(r(0x0c) & 0xa0, 0xa0);
  // Don't-care hours and minutes: every minute at :05.
  w(0x03, 0xc0);
  w(0x05, 0xff);
  clock.now += 60 * kSecNs;
  rtc.advance(clock.now);
  EXPECT_TRUE(irq.level[8]);
}

TEST_F(RtcTest, SetDate) {
  rtc.set_date({2030, 1, 2, 3, 4, 5});
  EXPECT_EQ(r(0x09), 0x30);
  EXPECT_EQ(r(0x00), 0x05);
}

}  // namespace
