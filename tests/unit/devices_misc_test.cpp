// cos::dev::I8042 (Linux's i8042 and atkbd probes, reboot=k), Port80,
// PortBus, MmioBus, TimerSet and IsaIrqRouter.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/devices_test_util.hpp"
#include "devices/i8042.hpp"
#include "devices/isa_irq_router.hpp"
#include "devices/mmio_bus.hpp"
#include "devices/port80.hpp"
#include "devices/port_bus.hpp"
#include "devices/timer_set.hpp"

using namespace devtest;
using cos::dev::I8042;

namespace {

struct I8042Test : ::testing::Test {
  IrqRecorder irq;
  I8042 kbc{&irq};
  unsigned resets = 0;
  void SetUp() override {
    kbc.set_reset_callback([](void* c) { ++*static_cast<unsigned*>(c); }, &resets);
  }
  uint8_t status() { return inb(kbc, 0x64); }

  // drivers/input/serio/i8042.c __i8042_command(): wait IBF clear, write
  // the command and parameters, then wait for OBF per result byte. Returns
  // -1 like Linux on a timeout or an AUX_LOOP answer without AUXDATA.
  int command(uint8_t* param, int cmd) {
    auto wait_write = [&] {
      for (int i = 0; i < 10000; ++i)
        if (!(status() & 0x02)) return 0;
      return -1;
    };
    auto wait_read = [&] {
      for (int i = 0; i < 10000; ++i)
        if (status() & 0x01) return 0;
      return -1;
    };
    if (wait_write()) return -1;
    outb(kbc, 0x64, static_cast<uint8_t>(cmd & 0xff));
    for (int i = 0; i < ((cmd >> 12) & 0xf); ++i) {
      if (wait_write()) return -1;
      outb(kbc, 0x60, param[i]);
    }
    for (int i = 0; i < ((cmd >> 8) & 0xf); ++i) {
      if (wait_read()) return -1;
      if (cmd == 0x11d3 && !(status() & 0x20)) return -1;
      param[i] = inb(kbc, 0x60);
    }
    return 0;
  }
};

constexpr int CMD_CTL_RCTR = 0x0120, CMD_CTL_WCTR = 0x1060, CMD_CTL_TEST = 0x01aa, CMD_AUX_LOOP = 0x11d3,
              CMD_AUX_TEST = 0x01a9, CMD_AUX_DISABLE = 0x00a7;

TEST_F(I8042Test, LinuxControllerProbe) {
  // i8042_controller_check(): flush finds an empty buffer.
  EXPECT_EQ(status() & 0x01, 0);
  EXPECT_NE(status(), 0xff);
  // i8042_controller_selftest().
  uint8_t param = 0;
  ASSERT_EQ(command(&param, CMD_CTL_TEST), 0);
  EXPECT_EQ(param, 0x55);
  // i8042_controller_init(): two equal CTR reads, write it back.
  uint8_t ctr[2] = {};
  ASSERT_EQ(command(&ctr[0], CMD_CTL_RCTR), 0);
  ASSERT_EQ(command(&ctr[1], CMD_CTL_RCTR), 0);
  EXPECT_EQ(ctr[0], ctr[1]);
  EXPECT_EQ(ctr[0] & 0x04, 0x04);  // SYS flag
  EXPECT_EQ(status() & 0x10, 0x10);  // keylock off
  uint8_t newctr = static_cast<uint8_t>((ctr[0] | 0x10) & ~0x01);
  ASSERT_EQ(command(&newctr, CMD_CTL_WCTR), 0);
  EXPECT_EQ(kbc.command_byte(), newctr);
  // i8042_check_aux(): the loop test fails at once (no AUXDATA) ...
  param = 0x5a;
  EXPECT_EQ(command(&param, CMD_AUX_LOOP), -1);
  // ... and the interface test reports an error: no AUX port, no waiting.
  ASSERT_EQ(command(&param, CMD_AUX_TEST), 0);
  EXPECT_TRUE(param != 0 && param != 0xfa && param != 0xff);
  EXPECT_EQ(command(&param, CMD_AUX_DISABLE), 0);
  EXPECT_EQ(kbc.command_byte() & 0x20, 0x20);
}

// atkbd_probe(): GETID (0xf2) to the keyboard is answered at once with a
// time-out NAK on IRQ 1, so libps2 gives up without waiting.
TEST_F(I8042Test, KeyboardCommandTimesOutImmediately) {
  uint8_t ctr = kbc.command_byte() | 0x01;  // KBDINT
  ASSERT_EQ(command(&ctr, CMD_CTL_WCTR), 0);
  irq.clear_counts();
  outb(kbc, 0x60, 0xf2);
  uint8_t st = status();
  EXPECT_EQ(st & 0x41, 0x41);  // OBF | time-out
  EXPECT_EQ(st & 0x20, 0);     // keyboard, not AUX
  EXPECT_TRUE(irq.level[1]);
  EXPECT_EQ(irq.rises[1], 1u);
  EXPECT_EQ(inb(kbc, 0x60), 0xfe);
  EXPECT_FALSE(irq.level[1]);
  EXPECT_EQ(status() & 0x41, 0);
  outb(kbc, 0x60, 0xed);  // SETLEDS: the same
  EXPECT_EQ(irq.rises[1], 2u);
  EXPECT_EQ(inb(kbc, 0x60), 0xfe);
}

TEST_F(I8042Test, InterruptOnlyWhenEnabled) {
  uint8_t ctr = 0x04;  // no interrupts
  ASSERT_EQ(command(&ctr, CMD_CTL_WCTR), 0);
  irq.clear_counts();
  outb(kbc, 0x60, 0xf4);
  EXPECT_FALSE(irq.level[1]);
  EXPECT_EQ(inb(kbc, 0x60), 0xfe);
}

// native_machine_emergency_restart(), BOOT_KBD: kb_wait() then 0xfe to 0x64.
TEST_F(I8042Test, LinuxRebootK) {
  for (int i = 0; i < 0x10000; ++i)
    if ((status() & 0x02) == 0) break;
  outb(kbc, 0x64, 0xfe);
  EXPECT_EQ(resets, 1u);
  outb(kbc, 0x64, 0xff);  // pulses nothing
  EXPECT_EQ(resets, 1u);
  EXPECT_EQ(kbc.resets(), 1u);
}

TEST_F(I8042Test, OutputPortAndA20) {
  uint8_t p = 0;
  ASSERT_EQ(command(&p, 0x01d0), 0);
  EXPECT_EQ(p, 0x03);
  p = 0x01;  // A20 off, reset line high
  ASSERT_EQ(command(&p, 0x10d1), 0);
  EXPECT_EQ(kbc.output_port(), 0x01);
  EXPECT_EQ(resets, 0u);
  outb(kbc, 0x64, 0xdf);
  EXPECT_EQ(kbc.output_port() & 0x02, 0x02);
  p = 0x00;  // drive the reset line low
  ASSERT_EQ(command(&p, 0x10d1), 0);
  EXPECT_EQ(resets, 1u);
}

TEST_F(I8042Test, StatusCommandDataBitAndEchoes) {
  outb(kbc, 0x64, 0xad);
  EXPECT_EQ(status() & 0x08, 0x08);
  EXPECT_EQ(kbc.command_byte() & 0x10, 0x10);
  outb(kbc, 0x64, 0xae);
  EXPECT_EQ(kbc.command_byte() & 0x10, 0);
  outb(kbc, 0x64, 0xd2);
  outb(kbc, 0x60, 0x1c);
  EXPECT_EQ(status() & 0x08, 0);
  EXPECT_EQ(status() & 0x21, 0x01);
  EXPECT_EQ(inb(kbc, 0x60), 0x1c);
  outb(kbc, 0x64, 0xd4);  // to the (absent) AUX device
  outb(kbc, 0x60, 0xff);
  EXPECT_EQ(status() & 0x61, 0x61);
  EXPECT_EQ(inb(kbc, 0x60), 0xfe);
  uint8_t p = 0;
  ASSERT_EQ(command(&p, 0x01ab), 0);
  EXPECT_EQ(p, 0x00);
  EXPECT_EQ(inb(kbc, 0x60), 0x00);  // an empty buffer reads the last byte
}

TEST(Port80Test, KeepsLastCodeAndCallsBack) {
  cos::dev::Port80 p80;
  std::vector<uint8_t> codes;
  p80.set_callback([](void* c, uint8_t b) { static_cast<std::vector<uint8_t>*>(c)->push_back(b); }, &codes);
  outb(p80, 0x80, 0x12);
  outb(p80, 0x80, 0x34);
  EXPECT_EQ(p80.last_code(), 0x34);
  EXPECT_EQ(inb(p80, 0x80), 0x34);
  EXPECT_EQ(p80.writes(), 2u);
  EXPECT_EQ(codes, (std::vector<uint8_t>{0x12, 0x34}));
}

// A byte-wide device that records its accesses.
struct ByteDev final : cos::dev::PortDevice {
  std::vector<std::string> log;
  uint8_t base_value = 0x10;
  uint32_t io_read(uint16_t port, unsigned size) override {
    log.push_back("r" + std::to_string(port) + "/" + std::to_string(size));
    return static_cast<uint32_t>(base_value + (port & 0xf));
  }
  void io_write(uint16_t port, unsigned size, uint32_t v) override {
    log.push_back("w" + std::to_string(port) + "/" + std::to_string(size) + "=" + std::to_string(v));
  }
};

struct UnknownLog {
  std::vector<uint16_t> ports;
  static void fn(void* c, uint16_t port, bool, unsigned, uint32_t) {
    static_cast<UnknownLog*>(c)->ports.push_back(port);
  }
};

TEST(PortBusTest, MapsRangesAndRejectsOverlaps) {
  cos::dev::PortBus bus;
  ByteDev a, b;
  EXPECT_TRUE(bus.add(0x70, 2, a));
  EXPECT_FALSE(bus.add(0x71, 1, b));
  EXPECT_FALSE(bus.add(0x60, 0x11, b));
  EXPECT_FALSE(bus.add(0xffff, 2, b));
  EXPECT_FALSE(bus.add(0x10, 0, b));
  EXPECT_FALSE(bus.add(0x10, 1, b, 3));
  EXPECT_TRUE(bus.add(0x72, 2, b));
  EXPECT_EQ(bus.find(0x71), &a);
  EXPECT_EQ(bus.find(0x72), &b);
  EXPECT_EQ(bus.find(0x74), nullptr);
  EXPECT_EQ(bus.read(0x71, 1), 0x11u);
  bus.write(0x72, 1, 0x1ff);  // masked to the access size
  EXPECT_EQ(b.log.back(), "w114/1=255");
}

TEST(PortBusTest, UnknownPortsReadOnesAndLogOnce) {
  cos::dev::PortBus bus;
  UnknownLog log;
  bus.set_unknown_port_log(&UnknownLog::fn, &log);
  EXPECT_EQ(bus.read(0x123, 1), 0xffu);
  EXPECT_EQ(bus.read(0x123, 2), 0xffffu);
  EXPECT_EQ(bus.read(0x124, 4), 0xffffffffu);
  bus.write(0x123, 1, 0);
  bus.write(0x125, 2, 0);
  EXPECT_EQ(log.ports, (std::vector<uint16_t>{0x123, 0x124, 0x125}));
  EXPECT_TRUE(bus.reported(0x123));
  EXPECT_FALSE(bus.reported(0x126));
}

TEST(PortBusTest, WideAccessesSplitForNarrowDevices) {
  cos::dev::PortBus bus;
  UnknownLog log;
  bus.set_unknown_port_log(&UnknownLog::fn, &log);
  ByteDev a;
  ASSERT_TRUE(bus.add(0x70, 2, a));
  EXPECT_EQ(bus.read(0x70, 2), 0x1110u);
  EXPECT_EQ(a.log, (std::vector<std::string>{"r112/1", "r113/1"}));
  a.log.clear();
  EXPECT_EQ(bus.read(0x70, 4), 0xffff1110u);  // 0x72, 0x73 unknown
  EXPECT_EQ(log.ports, (std::vector<uint16_t>{0x72, 0x73}));
  bus.write(0x6f, 2, 0xabcd);
  EXPECT_EQ(a.log.back(), "w112/1=171");
  ByteDev wide;
  ASSERT_TRUE(bus.add(0xcf8, 8, wide, 4));
  wide.log.clear();
  bus.read(0xcfc, 4);
  bus.read(0xcfe, 2);
  EXPECT_EQ(wide.log, (std::vector<std::string>{"r3324/4", "r3326/2"}));
}

struct Mmio final : cos::dev::MmioDevice {
  uint64_t last_off = 0;
  uint64_t read(uint64_t off, unsigned) override {
    last_off = off;
    return 0x1122334455667788ull;
  }
  void write(uint64_t off, unsigned, uint64_t) override { last_off = off; }
};

TEST(MmioBusTest, DispatchMoveAndUnknown) {
  cos::dev::MmioBus bus;
  Mmio lapic, ioapic;
  ASSERT_TRUE(bus.add(0xfee00000, 0x1000, lapic));
  ASSERT_TRUE(bus.add(0xfec00000, 0x1000, ioapic));
  EXPECT_FALSE(bus.add(0xfee00800, 0x1000, ioapic));
  uint64_t v = 0;
  EXPECT_TRUE(bus.read(0xfee00030, 4, v));
  EXPECT_EQ(v, 0x55667788u);
  EXPECT_EQ(lapic.last_off, 0x30u);
  EXPECT_TRUE(bus.write(0xfec00010, 4, 1));
  EXPECT_EQ(ioapic.last_off, 0x10u);
  EXPECT_FALSE(bus.read(0xfed00000, 2, v));
  EXPECT_EQ(v, 0xffffu);
  EXPECT_FALSE(bus.write(0xfed00000, 4, 0));
  EXPECT_FALSE(bus.move(lapic, 0xfec00800));
  EXPECT_TRUE(bus.move(lapic, 0xfed00000));
  EXPECT_TRUE(bus.contains(0xfed00fff));
  EXPECT_FALSE(bus.contains(0xfee00000));
}

struct FakeTimer final : cos::dev::TimerDevice {
  uint64_t deadline = cos::dev::kNoDeadline;
  uint64_t advanced_to = 0;
  uint64_t next_deadline_ns() const override { return deadline; }
  void advance(uint64_t now) override { advanced_to = now; }
};

TEST(TimerSetTest, EarliestDeadline) {
  cos::dev::TimerSet set;
  FakeTimer a, b;
  EXPECT_EQ(set.next_deadline_ns(), cos::dev::kNoDeadline);
  ASSERT_TRUE(set.add(a));
  ASSERT_TRUE(set.add(b));
  EXPECT_EQ(set.ns_until_deadline(100), cos::dev::kNoDeadline);
  EXPECT_EQ(set.timeout_us(100), 0u);  // wait forever
  a.deadline = 500;
  b.deadline = 300;
  EXPECT_EQ(set.next_deadline_ns(), 300u);
  EXPECT_EQ(set.ns_until_deadline(100), 200u);
  EXPECT_EQ(set.ns_until_deadline(400), 0u);
  EXPECT_EQ(set.timeout_us(400), 1u);  // due: the shortest wait, never "forever"
  EXPECT_EQ(set.timeout_us(0), 1u);    // 300 ns rounds up to 1 us
  b.deadline = 2'000'100;
  a.deadline = cos::dev::kNoDeadline;
  EXPECT_EQ(set.timeout_us(0), 2001u);
  EXPECT_EQ(set.timeout_us(100), 2000u);
  set.advance(400);
  EXPECT_EQ(a.advanced_to, 400u);
  EXPECT_EQ(b.advanced_to, 400u);
}

TEST(IsaIrqRouterTest, RoutesToPicAndIoApic) {
  IrqRecorder pic, ioapic;
  cos::dev::IsaIrqRouter router(&pic, &ioapic);
  router.pulse_irq(0);
  EXPECT_EQ(pic.rises[0], 1u);
  EXPECT_EQ(ioapic.rises[2], 1u);
  EXPECT_EQ(ioapic.rises[0], 0u);
  router.set_irq(4, true);
  EXPECT_TRUE(pic.level[4]);
  EXPECT_TRUE(ioapic.level[4]);
  router.set_irq(2, true);
  EXPECT_TRUE(pic.level[2]);
  EXPECT_FALSE(ioapic.level[2]);
  router.set_irq(16, true);  // not an ISA IRQ
  EXPECT_EQ(pic.calls, 4u);
  cos::dev::IsaIrqRouter pic_only(&pic, nullptr);
  pic_only.set_irq(8, true);
  EXPECT_TRUE(pic.level[8]);
}

}  // namespace
