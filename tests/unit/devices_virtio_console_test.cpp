// cos::dev::VirtioConsole (one port, no multiport; virtio 1.2 §5.3): output
// through the transmit queue and emerg_wr, input pulled from the backend
// only into posted receive buffers (nothing lost while the guest has none),
// window size changes, and a receive buffer the device cannot use.
#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "unit/virtio_test_util.hpp"

using namespace vtest;

namespace {

struct Backend final : ConsoleBackend {
  std::string out;
  std::deque<uint8_t> in;
  unsigned reads = 0;
  void console_write(const uint8_t* d, size_t n) override { out.append(reinterpret_cast<const char*>(d), n); }
  size_t console_read(uint8_t* dst, size_t cap) override {
    ++reads;
    size_t n = 0;
    while (n < cap && !in.empty()) dst[n++] = in.front(), in.pop_front();
    return n;
  }
  void type(const std::string& s) { in.insert(in.end(), s.begin(), s.end()); }
};

struct ConsoleTest : ::testing::Test {
  GuestRam ram;
  Backend backend;
  TransportRecorder transport;
  ErrorRecorder errors;
  VirtioConsole con{ram.mem, backend, 80, 24};
  DriverQueue rxq{ram, 8}, txq{ram, 8};

  void SetUp() override {
    con.set_transport(&transport);
    errors.attach(con);
    ASSERT_TRUE(bring_up(con, {&rxq, &txq}));
  }
  uint64_t post(uint32_t len) {
    uint64_t b = ram.alloc(len);
    rxq.add({{b, len, true}});
    return b;
  }
  void write(const std::string& s) {
    uint64_t b = ram.alloc(s.size());
    std::memcpy(ram.host(b), s.data(), s.size());
    txq.add({{b, static_cast<uint32_t>(s.size()), false}});
  }
};

TEST_F(ConsoleTest, ConfigurationAndFeatures) {
  EXPECT_EQ(con.read_config(0, 2), 80u);
  EXPECT_EQ(con.read_config(2, 2), 24u);
  EXPECT_EQ(con.read_config(4, 4), 1u);
  uint64_t f = con.device_features();
  EXPECT_TRUE(f & vs::feature(VirtioConsole::kFSize));
  EXPECT_TRUE(f & vs::feature(VirtioConsole::kFEmergWrite));
  EXPECT_FALSE(f & vs::feature(VirtioConsole::kFMultiport));
  EXPECT_EQ(con.num_queues(), 2);
}

TEST_F(ConsoleTest, OutputInOrderAcrossBuffersAndKicks) {
  write("Debian GNU/Linux ");
  write("12 ");
  con.notify(VirtioConsole::kTransmitQueue);
  uint64_t b = ram.alloc(16);
  std::memcpy(ram.host(b), "cos hvc0\n", 9);
  txq.add({{b, 4, false}, {b + 4, 5, false}});  // one chain, two pieces
  con.notify(VirtioConsole::kTransmitQueue);
  EXPECT_EQ(backend.out, "Debian GNU/Linux 12 cos hvc0\n");
  EXPECT_EQ(txq.used_idx(), 3);
  EXPECT_EQ(con.bytes_out(), backend.out.size());
}

TEST_F(ConsoleTest, InputGoesOnlyIntoPostedBuffers) {
  backend.type("ls\n");
  con.poll_input();  // no buffer yet: the bytes stay in the backend
  EXPECT_EQ(backend.in.size(), 3u);
  uint64_t b = post(2);
  con.notify(VirtioConsole::kReceiveQueue);  // the driver posts a buffer and kicks
  uint32_t id, len;
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, 2u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram.host(b)), 2), "ls");
  EXPECT_EQ(backend.in.size(), 1u);
  rxq.set_used_event(rxq.used_idx());  // virtqueue_enable_cb
  uint64_t c = post(64);
  con.notify(VirtioConsole::kReceiveQueue);
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(ram.host(c)[0], '\n');
  EXPECT_EQ(transport.count(VirtioConsole::kReceiveQueue), 2u);
  // A posted buffer with nothing to deliver stays with the device.
  post(64);
  con.notify(VirtioConsole::kReceiveQueue);
  EXPECT_EQ(rxq.used_idx(), 2);
  backend.type("x");
  con.poll_input();
  EXPECT_EQ(rxq.used_idx(), 3);
  EXPECT_EQ(con.bytes_in(), 4u);
}

TEST_F(ConsoleTest, InputAcrossChainedReceiveBuffers) {
  uint64_t a = ram.alloc(3), b = ram.alloc(5);
  rxq.add({{a, 3, true}, {b, 5, true}});
  backend.type("abcdefghij");
  con.poll_input();
  uint32_t id, len;
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, 8u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram.host(a)), 3), "abc");
  EXPECT_EQ(std::string(reinterpret_cast<char*>(ram.host(b)), 5), "defgh");
  EXPECT_EQ(backend.in.size(), 2u);
}

TEST_F(ConsoleTest, NoInputBeforeDriverOk) {
  con.write_status(0);
  backend.type("early");
  con.poll_input();
  EXPECT_EQ(backend.reads, 0u);
  EXPECT_EQ(backend.in.size(), 5u);
}

TEST_F(ConsoleTest, EmergencyWrite) {
  con.write_config(8, 4, 'E');
  con.write_config(8, 1, '!');
  con.write_config(0, 2, 5);  // cols are read-only
  EXPECT_EQ(backend.out, "E!");
  EXPECT_EQ(con.read_config(0, 2), 80u);
}

TEST_F(ConsoleTest, ResizeIsAConfigurationChange) {
  uint8_t gen = con.config_generation();
  con.set_size(132, 50);
  EXPECT_EQ(con.read_config(0, 4), 50u << 16 | 132u);
  EXPECT_EQ(transport.config_irqs, 1u);
  EXPECT_NE(con.config_generation(), gen);
}

TEST_F(ConsoleTest, ReceiveBufferWithoutWritableBytesStopsTheDevice) {
  uint64_t b = ram.alloc(4);
  rxq.add({{b, 4, false}});
  backend.type("y");
  con.poll_input();
  EXPECT_TRUE(con.needs_reset());
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::request_malformed);
  EXPECT_EQ(errors.errors[0].queue, VirtioConsole::kReceiveQueue);
  EXPECT_EQ(backend.in.size(), 1u);  // nothing consumed
  write("after");
  con.notify(VirtioConsole::kTransmitQueue);
  EXPECT_EQ(backend.out, "");
}

TEST_F(ConsoleTest, TransmitBufferOutsideRamStopsTheDevice) {
  txq.add({{ram.end() - 2, 16, false}});
  con.notify(VirtioConsole::kTransmitQueue);
  EXPECT_TRUE(con.needs_reset());
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::buffer_not_in_ram);
  EXPECT_EQ(backend.out, "");
}

}  // namespace
