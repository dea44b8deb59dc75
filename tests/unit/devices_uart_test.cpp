// cos::dev::Uart8250: registers, interrupts and the probe sequences of
// Linux's 8250 driver (drivers/tty/serial/8250/8250_port.c: autoconfig,
// autoconfig_16550a, serial8250_do_startup) and its early console.
#include <gtest/gtest.h>

#include <string>

#include "unit/devices_test_util.hpp"
#include "devices/uart8250.hpp"

using cos::dev::Uart8250;
using namespace devtest;

namespace {

constexpr uint16_t kBase = 0x3f8;
constexpr uint16_t RBR = kBase + 0, THR = kBase + 0, IER = kBase + 1, IIR = kBase + 2, FCR = kBase + 2,
                   LCR = kBase + 3, MCR = kBase + 4, LSR = kBase + 5, MSR = kBase + 6, SCR = kBase + 7;

struct UartTest : ::testing::Test {
  FakeClock clock;
  IrqRecorder irq;
  Uart8250 uart{clock, &irq};
  std::string out;

  void SetUp() override {
    uart.set_output([](void* ctx, uint8_t b) { static_cast<std::string*>(ctx)->push_back(static_cast<char>(b)); },
                    &out);
  }
  void w(uint16_t p, uint8_t v) { outb(uart, p, v); }
  uint8_t r(uint16_t p) { return inb(uart, p); }
};

TEST_F(UartTest, ResetState) {
  EXPECT_EQ(r(LSR), 0x60);  // THRE | TEMT
  EXPECT_EQ(r(IIR), 0x01);  // no interrupt, no FIFO
  EXPECT_EQ(r(IER), 0x00);
  EXPECT_EQ(r(MSR) & 0xf0, 0xb0);  // DCD, DSR, CTS
  EXPECT_FALSE(uart.irq_level());
}

TEST_F(UartTest, TransmitsToOutputCallback) {
  for (char c : std::string("hello\n")) w(THR, static_cast<uint8_t>(c));
  EXPECT_EQ(out, "hello\n");
  EXPECT_EQ(r(LSR) & 0x60, 0x60);
}

TEST_F(UartTest, DivisorLatch) {
  w(LCR, 0x83);  // DLAB, 8N1
  w(RBR, 0x01);  // DLL
  w(IER, 0x00);  // DLM
  EXPECT_EQ(r(RBR), 0x01);
  EXPECT_EQ(r(IER), 0x00);
  EXPECT_EQ(uart.divisor(), 1);
  w(LCR, 0x03);
  EXPECT_EQ(out, "");  // DLL writes transmit nothing
  EXPECT_EQ(r(LCR), 0x03);
}

// Linux's early console (arch/x86/boot/early_serial_console.c /
// kernel/early_printk.c): program, then poll LSR.THRE before each byte.
TEST_F(UartTest, EarlyPrintkSequence) {
  w(LCR, 0x03);
  w(IER, 0x00);
  w(FCR, 0x00);
  w(MCR, 0x03);
  w(LCR, 0x83);
  w(RBR, 0x01);
  w(IER, 0x00);
  w(LCR, 0x03);
  for (char c : std::string("early")) {
    int timeout = 0xffff;
    while ((r(LSR) & 0x20) == 0 && --timeout) {
    }
    ASSERT_GT(timeout, 0);
    w(THR, static_cast<uint8_t>(c));
  }
  EXPECT_EQ(out, "early");
}

TEST_F(UartTest, ScratchRegister) {
  for (uint8_t v : {0x00, 0x55, 0xaa, 0xff}) {
    w(SCR, v);
    EXPECT_EQ(r(SCR), v);
  }
}

// autoconfig(): the IER existence test.
TEST_F(UartTest, LinuxIerTest) {
  uint8_t scratch = r(IER);
  w(IER, 0);
  uint8_t scratch2 = r(IER) & 0x0f;
  w(IER, 0x0f);
  uint8_t scratch3 = r(IER) & 0x0f;
  w(IER, scratch);
  EXPECT_EQ(scratch2, 0);
  EXPECT_EQ(scratch3, 0x0f);
}

// autoconfig(): the loopback test (MCR = LOOP | OUT2 | RTS -> DCD | CTS).
TEST_F(UartTest, LinuxLoopbackTest) {
  uint8_t save_mcr = r(MCR);
  w(MCR, 0x10 | 0x0a);
  uint8_t status1 = r(MSR) & 0xf0;
  w(MCR, save_mcr);
  EXPECT_EQ(status1, 0x90);
}

TEST_F(UartTest, LoopbackEchoesTransmitter) {
  w(MCR, 0x10);
  w(THR, 'x');
  EXPECT_EQ(out, "");
  EXPECT_EQ(r(LSR) & 0x01, 0x01);
  EXPECT_EQ(r(RBR), 'x');
  EXPECT_EQ(r(LSR) & 0x01, 0x00);
  EXPECT_FALSE(uart.push_input('y'));  // external input is disconnected in loopback
  w(MCR, 0x00);
  EXPECT_TRUE(uart.push_input('y'));
  EXPECT_EQ(r(RBR), 'y');
}

// autoconfig() FIFO detection and autoconfig_16550a()'s variant checks: the
// result must be a plain 16550A.
TEST_F(UartTest, LinuxFifoDetectionFinds16550A) {
  uint8_t save_lcr = r(LCR);
  w(LCR, 0xbf);  // UART_LCR_CONF_MODE_B
  w(FCR, 0);     // UART_EFR (aliases FCR here)
  w(LCR, 0);
  w(FCR, 0x01);  // UART_FCR_ENABLE_FIFO
  uint8_t scratch = r(IIR) >> 6;
  EXPECT_EQ(scratch, 3);  // -> autoconfig_16550a

  // EFR checks: IIR (offset 2) must not read 0 under LCR 0x80 / 0xbf.
  w(LCR, 0x80);
  EXPECT_NE(r(IIR), 0);
  w(LCR, 0xbf);
  EXPECT_NE(r(IIR), 0);

  // National SuperIO check: EXCR1 (offset 2 under LCR 0xe0) must not track MCR.LOOP.
  w(LCR, 0);
  uint8_t status1 = r(MCR);
  w(LCR, 0xe0);
  uint8_t status2 = r(IIR);
  EXPECT_EQ((status1 ^ status2) & 0x10, 0);
  w(LCR, 0);
  w(MCR, status1 ^ 0x10);
  w(LCR, 0xe0);
  status2 = r(IIR);
  w(LCR, 0);
  w(MCR, status1);
  EXPECT_EQ((status2 ^ status1) & 0x10, 0);

  // TI16750 check: IIR bit 5 stays 0 with FCR bit 5, DLAB or not.
  w(LCR, 0);
  w(FCR, 0x01 | 0x20);
  uint8_t s1 = r(IIR) >> 5;
  w(FCR, 0x01);
  w(LCR, 0x80);
  w(FCR, 0x01 | 0x20);
  uint8_t s2 = r(IIR) >> 5;
  w(FCR, 0x01);
  w(LCR, 0);
  EXPECT_EQ(s1, 6);
  EXPECT_EQ(s2, 6);

  // XScale UUE check: IER bit 6 is not writable.
  uint8_t iersave = r(IER);
  w(IER, iersave & ~0x40);
  EXPECT_EQ(r(IER) & 0x40, 0);
  w(IER, iersave | 0x40);
  EXPECT_EQ(r(IER) & 0x40, 0);
  w(IER, iersave);
  w(LCR, save_lcr);

  w(FCR, 0x00);
  EXPECT_EQ(r(IIR) >> 6, 0);
}

// serial8250_do_startup(): THRE must be reasserted whenever ETBEI goes 0 -> 1
// with the transmitter idle, or Linux marks the port UART_BUG_THRE.
TEST_F(UartTest, LinuxThreTest) {
  EXPECT_EQ(r(LSR) & 0x20, 0x20);
  w(IER, 0x02);
  uint8_t iir1 = r(IIR);
  w(IER, 0);
  w(IER, 0x02);
  uint8_t iir = r(IIR);
  w(IER, 0);
  EXPECT_EQ(iir1 & 0x01, 0);
  EXPECT_EQ(iir & 0x01, 0);
  EXPECT_EQ(iir1 & 0x0f, 0x02);
}

TEST_F(UartTest, ThreClearedByIirReadAndRearmedByWrite) {
  w(MCR, 0x08);  // OUT2: connect INTR to the IRQ line
  w(IER, 0x02);
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(irq.rises[4], 1u);
  EXPECT_EQ(r(IIR), 0x02);
  EXPECT_EQ(r(IIR), 0x01);  // reading IIR cleared THRE
  EXPECT_FALSE(uart.irq_level());
  w(THR, 'a');  // transmitted at once: THR empty again -> THRE again
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(irq.rises[4], 2u);
  // A write while THRE is pending drops and raises the line: a new edge.
  w(THR, 'b');
  EXPECT_EQ(irq.rises[4], 3u);
  EXPECT_EQ(out, "ab");
}

TEST_F(UartTest, IrqGatedByOut2AndLoopback) {
  w(IER, 0x02);
  EXPECT_EQ(uart.peek_iir() & 0x0f, 0x02);
  EXPECT_FALSE(uart.irq_level());  // OUT2 clear: ISA line not driven
  w(MCR, 0x08);
  EXPECT_TRUE(uart.irq_level());
  w(MCR, 0x18);  // loopback disconnects the IRQ
  EXPECT_FALSE(uart.irq_level());
  w(MCR, 0x08);
  EXPECT_TRUE(uart.irq_level());
}

TEST(UartConfig, UngatedIrq) {
  FakeClock clock;
  IrqRecorder irq;
  Uart8250 uart(clock, &irq, Uart8250::Config{.base = 0x2f8, .irq = 3, .gate_irq_with_out2 = false});
  outb(uart, 0x2f9, 0x02);
  EXPECT_TRUE(irq.level[3]);
  EXPECT_EQ(uart.base(), 0x2f8);
}

TEST_F(UartTest, ReceiveWithoutFifo) {
  w(MCR, 0x08);
  w(IER, 0x01);
  EXPECT_EQ(r(IIR), 0x01);
  EXPECT_TRUE(uart.push_input('k'));
  EXPECT_EQ(r(IIR), 0x04);
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(r(LSR) & 0x01, 0x01);
  EXPECT_EQ(r(RBR), 'k');
  EXPECT_EQ(r(IIR), 0x01);
  EXPECT_FALSE(uart.irq_level());
  EXPECT_EQ(r(LSR) & 0x01, 0x00);
}

TEST_F(UartTest, NonFifoOverrunOverwrites) {
  EXPECT_EQ(uart.rx_room(), 1u);
  EXPECT_TRUE(uart.push_input('1'));
  EXPECT_FALSE(uart.push_input('2'));
  uint8_t lsr = r(LSR);
  EXPECT_EQ(lsr & 0x03, 0x03);  // DR | OE
  EXPECT_EQ(r(LSR) & 0x02, 0);  // OE cleared by reading LSR
  EXPECT_EQ(r(RBR), '2');
}

TEST_F(UartTest, FifoTriggerLevelAndTimeout) {
  w(LCR, 0x83);
  w(RBR, 0x01);  // 115200 baud
  w(IER, 0x00);
  w(LCR, 0x03);
  w(FCR, 0x81);  // FIFO, trigger 8
  w(MCR, 0x08);
  w(IER, 0x01);
  for (char c : std::string("abc")) uart.push_input(static_cast<uint8_t>(c));
  EXPECT_EQ(r(IIR), 0xc1);  // below the trigger level: nothing yet
  EXPECT_FALSE(uart.irq_level());
  // 4 characters of 10 bits at 115200 baud = 347.2 us.
  uint64_t deadline = uart.next_deadline_ns();
  EXPECT_EQ(deadline, 347'222u);
  clock.now = deadline - 1;
  uart.advance(clock.now);
  EXPECT_EQ(r(IIR), 0xc1);
  clock.now = deadline;
  uart.advance(clock.now);
  EXPECT_TRUE(uart.irq_level());
  EXPECT_EQ(r(IIR), 0xcc);  // character timeout
  EXPECT_EQ(r(RBR), 'a');   // reading clears the timeout
  EXPECT_EQ(r(IIR), 0xc1);
  EXPECT_EQ(r(RBR), 'b');
  EXPECT_EQ(r(RBR), 'c');
  EXPECT_EQ(r(LSR) & 0x01, 0);
  EXPECT_EQ(uart.next_deadline_ns(), cos::dev::kNoDeadline);

  // At the trigger level the data interrupt comes at once.
  for (int i = 0; i < 8; ++i) uart.push_input(static_cast<uint8_t>('0' + i));
  EXPECT_EQ(r(IIR), 0xc4);
  EXPECT_EQ(uart.next_deadline_ns(), cos::dev::kNoDeadline);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(r(RBR), '0' + i);
  EXPECT_EQ(r(IIR), 0xc1);
}

TEST_F(UartTest, FifoOverrunAndLineStatusPriority) {
  w(FCR, 0x07);  // enable, clear both
  w(IER, 0x07);  // RDA, THRE, RLS
  EXPECT_EQ(uart.rx_room(), 16u);
  for (int i = 0; i < 16; ++i) EXPECT_TRUE(uart.push_input(static_cast<uint8_t>(i)));
  EXPECT_FALSE(uart.push_input(99));
  EXPECT_EQ(r(IIR), 0xc6);        // line status beats data
  EXPECT_EQ(r(LSR) & 0x03, 0x03);
  EXPECT_EQ(r(IIR), 0xc4);        // then data (16 >= trigger 1)
  for (int i = 0; i < 16; ++i) EXPECT_EQ(r(RBR), i);  // the FIFO kept the first 16
  EXPECT_EQ(r(IIR), 0xc2);        // then THRE
  EXPECT_EQ(r(IIR), 0xc1);
}

TEST_F(UartTest, FcrClearsReceiver) {
  w(FCR, 0x01);
  uart.push_input('a');
  uart.push_input('b');
  w(FCR, 0x03);
  EXPECT_EQ(r(LSR) & 0x01, 0);
  uart.push_input('c');
  w(FCR, 0x00);  // disabling the FIFO clears it too
  EXPECT_EQ(r(LSR) & 0x01, 0);
}

TEST_F(UartTest, ModemStatusInterruptInLoopback) {
  w(IER, 0x08);
  w(MCR, 0x10);  // loopback, all modem outputs off -> inputs drop: deltas
  uint8_t iir = r(IIR);
  EXPECT_EQ(iir, 0x00);  // modem status interrupt
  uint8_t msr = r(MSR);
  EXPECT_EQ(msr & 0x0b, 0x0b);  // DCTS, DDSR, DDCD
  EXPECT_EQ(msr & 0xf0, 0x00);
  EXPECT_EQ(r(IIR), 0x01);
  w(MCR, 0x10 | 0x04);  // OUT1 -> RI rises: no TERI yet
  EXPECT_EQ(r(MSR), 0x40);
  w(MCR, 0x10);  // RI falls: trailing edge
  EXPECT_EQ(r(MSR), 0x04);
}

TEST_F(UartTest, WiderAccessesReadTheByte) {
  w(SCR, 0x5a);
  EXPECT_EQ(uart.io_read(SCR, 1), 0x5au);
}

}  // namespace
