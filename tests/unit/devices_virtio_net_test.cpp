// cos::dev::VirtioNet with NetLoopback and a scripted backend: the
// virtio_net_hdr on both queues (virtio 1.2 §5.1.6), frames in any buffer
// layout, receive buffers as Linux's "small buffers" mode posts them,
// frames waiting for buffers, drop accounting, link status, and malformed
// transmit chains.
#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "unit/virtio_pci_driver.hpp"

using namespace vtest;

namespace {

constexpr uint8_t kMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr uint32_t kHdr = VirtioNet::kHeaderBytes;

// A backend whose receive side the test fills and whose transmit side it reads.
struct ScriptedNet final : NetBackend {
  std::vector<std::vector<uint8_t>> sent;
  std::deque<std::vector<uint8_t>> incoming;
  bool accept = true;
  bool net_transmit(const uint8_t* f, size_t n) override {
    if (!accept) return false;
    sent.emplace_back(f, f + n);
    return true;
  }
  size_t net_rx_peek() override { return incoming.empty() ? 0 : incoming.front().size(); }
  size_t net_receive(uint8_t* dst, size_t cap) override {
    if (incoming.empty()) return 0;
    std::vector<uint8_t> f = incoming.front();
    incoming.pop_front();
    std::memcpy(dst, f.data(), f.size() < cap ? f.size() : cap);
    return f.size();
  }
};

std::vector<uint8_t> frame(size_t n, uint8_t seed) {
  std::vector<uint8_t> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = static_cast<uint8_t>(seed + i);
  std::memcpy(f.data(), kMac, 6);  // destination
  return f;
}

template <class Backend>
struct NetFixture : ::testing::Test {
  GuestRam ram;
  Backend backend;
  TransportRecorder transport;
  ErrorRecorder errors;
  VirtioNet net{ram.mem, backend, kMac};
  DriverQueue rxq{ram, 16}, txq{ram, 16};

  void SetUp() override {
    net.set_transport(&transport);
    errors.attach(net);
    ASSERT_TRUE(bring_up(net, {&rxq, &txq}));
  }
  // virtio-net's small receive buffer: header + 1518 bytes in one descriptor.
  uint64_t post_rx(uint32_t len = kHdr + VirtioNet::kMaxFrameBytes) {
    uint64_t b = ram.alloc(len);
    rxq.add({{b, len, true}});
    return b;
  }
  // Transmit as Linux does with VERSION_1 (header pushed in front of the
  // frame in the same buffer), or with a separate header descriptor.
  void send(const std::vector<uint8_t>& f, bool separate_header = false, uint8_t flags = 0, uint8_t gso = 0) {
    uint64_t b = ram.alloc(kHdr + f.size());
    std::memset(ram.host(b), 0, kHdr);
    ram.host(b)[0] = flags;
    ram.host(b)[1] = gso;
    std::memcpy(ram.host(b + kHdr), f.data(), f.size());
    if (separate_header)
      txq.add({{b, kHdr, false}, {b + kHdr, static_cast<uint32_t>(f.size()), false}});
    else
      txq.add({{b, static_cast<uint32_t>(kHdr + f.size()), false}});
    net.notify(VirtioNet::kTransmitQueue);
  }
};

using NetTest = NetFixture<ScriptedNet>;
using NetLoopbackTest = NetFixture<NetLoopback>;

TEST_F(NetTest, ConfigurationAndFeatures) {
  for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(net.read_config(i, 1), kMac[i]);
  EXPECT_EQ(net.read_config(6, 2), VirtioNet::kStatusLinkUp);
  EXPECT_EQ(net.read_config(8, 2), 1u);   // max_virtqueue_pairs
  EXPECT_EQ(net.read_config(10, 2), 1500u);
  uint64_t f = net.device_features();
  EXPECT_TRUE(f & vs::feature(VirtioNet::kFMac));
  EXPECT_TRUE(f & vs::feature(VirtioNet::kFStatus));
  EXPECT_TRUE(f & vs::feature(VirtioNet::kFMtu));
  EXPECT_FALSE(f & vs::feature(VirtioNet::kFMrgRxbuf));
  EXPECT_FALSE(f & vs::feature(VirtioNet::kFCsum));
  net.write_config(0, 4, 0);  // the MAC is read-only
  EXPECT_EQ(net.read_config(0, 1), kMac[0]);
}

TEST_F(NetTest, TransmitStripsTheHeader) {
  std::vector<uint8_t> f = frame(60, 1);
  send(f);
  txq.set_used_event(txq.used_idx());  // virtqueue_enable_cb: interrupt me for the next one
  send(frame(1514, 2), true);
  ASSERT_EQ(backend.sent.size(), 2u);
  EXPECT_EQ(backend.sent[0], f);
  EXPECT_EQ(backend.sent[1], frame(1514, 2));
  EXPECT_EQ(txq.used_idx(), 2);
  EXPECT_EQ(net.stats().tx_frames, 2u);
  EXPECT_EQ(net.stats().tx_bytes, 60u + 1514u);
  EXPECT_EQ(transport.count(VirtioNet::kTransmitQueue), 2u);
}

TEST_F(NetTest, FramesTheDeviceCannotSendAreCountedNotSent) {
  send(frame(VirtioNet::kMaxFrameBytes + 1, 3));  // longer than MTU + headers
  send(frame(10, 4));                             // shorter than an Ethernet header
  send(frame(60, 5), false, VirtioNet::kHdrFNeedsCsum);
  send(frame(60, 6), false, 0, 1 /* VIRTIO_NET_HDR_GSO_TCPV4 */);
  EXPECT_TRUE(backend.sent.empty());
  EXPECT_EQ(net.stats().tx_errors, 4u);
  EXPECT_EQ(txq.used_idx(), 4);  // every buffer is returned
  backend.accept = false;
  send(frame(60, 7));
  EXPECT_EQ(net.stats().tx_dropped, 1u);
  EXPECT_FALSE(net.needs_reset());
}

TEST_F(NetTest, ReceiveFillsOneBufferPerFrame) {
  uint64_t b1 = post_rx(), b2 = post_rx();
  net.notify(VirtioNet::kReceiveQueue);  // the driver's kick after posting
  backend.incoming.push_back(frame(64, 9));
  backend.incoming.push_back(frame(1518, 10));
  net.poll_rx();
  uint32_t id, len;
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, kHdr + 64);
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, kHdr + 1518);
  // The header: no offloads, num_buffers = 1.
  std::vector<uint8_t> hdr = ram.read(b1, kHdr);
  EXPECT_EQ(hdr, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}));
  EXPECT_EQ(ram.read(b1 + kHdr, 64), frame(64, 9));
  EXPECT_EQ(ram.read(b2 + kHdr, 1518), frame(1518, 10));
  EXPECT_EQ(net.stats().rx_frames, 2u);
  EXPECT_EQ(transport.count(VirtioNet::kReceiveQueue), 1u);
}

TEST_F(NetTest, FramesWaitForReceiveBuffers) {
  backend.incoming.push_back(frame(100, 1));
  backend.incoming.push_back(frame(200, 2));
  net.poll_rx();  // no buffers: nothing taken from the backend
  EXPECT_EQ(backend.incoming.size(), 2u);
  EXPECT_EQ(net.stats().rx_dropped, 0u);
  post_rx();
  net.notify(VirtioNet::kReceiveQueue);  // posting a buffer delivers one
  EXPECT_EQ(backend.incoming.size(), 1u);
  post_rx();
  net.notify(VirtioNet::kReceiveQueue);
  EXPECT_TRUE(backend.incoming.empty());
  EXPECT_EQ(rxq.used_idx(), 2);
}

TEST_F(NetTest, ReceiveBufferInPiecesAndIndirect) {
  // Linux's "big packets" mode chains pages; here header and data buffers
  // are separate descriptors, once directly and once through a table.
  uint64_t h = ram.alloc(kHdr), d1 = ram.alloc(40), d2 = ram.alloc(2000);
  rxq.add({{h, kHdr, true}, {d1, 40, true}, {d2, 2000, true}});
  backend.incoming.push_back(frame(300, 3));
  net.poll_rx();
  uint32_t id, len;
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, kHdr + 300);
  std::vector<uint8_t> got = ram.read(d1, 40);
  std::vector<uint8_t> rest = ram.read(d2, 260);
  got.insert(got.end(), rest.begin(), rest.end());
  EXPECT_EQ(got, frame(300, 3));
  uint64_t whole = ram.alloc(kHdr + 100);
  rxq.add_indirect({{whole, kHdr + 100, true}});
  backend.incoming.push_back(frame(100, 4));
  net.poll_rx();
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(ram.read(whole + kHdr, 100), frame(100, 4));
}

TEST_F(NetTest, FramesLargerThanTheBufferAreDropped) {
  post_rx(kHdr + 100);
  backend.incoming.push_back(frame(200, 1));  // does not fit (no mergeable buffers)
  backend.incoming.push_back(frame(80, 2));   // fits
  backend.incoming.push_back(frame(9000, 3)); // a jumbo frame: never fits
  net.poll_rx();
  EXPECT_EQ(net.stats().rx_dropped, 2u);
  EXPECT_EQ(net.stats().rx_frames, 1u);
  EXPECT_TRUE(backend.incoming.empty());
  uint32_t id, len;
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, kHdr + 80);
  backend.incoming.push_back(frame(9000, 4));
  net.poll_rx();  // a jumbo frame is dropped even without a buffer to try
  EXPECT_EQ(net.stats().rx_dropped, 3u);
  EXPECT_TRUE(backend.incoming.empty());
}

TEST_F(NetTest, LinkStatusChange) {
  net.set_link_up(false);
  EXPECT_EQ(net.read_config(6, 2), 0u);
  EXPECT_EQ(transport.config_irqs, 1u);
  uint8_t gen = net.config_generation();
  net.set_link_up(true);
  EXPECT_EQ(net.read_config(6, 2), VirtioNet::kStatusLinkUp);
  EXPECT_NE(net.config_generation(), gen);
}

TEST_F(NetTest, TransmitChainShorterThanTheHeaderStopsTheDevice) {
  uint64_t b = ram.alloc(8);
  txq.add({{b, 8, false}});
  net.notify(VirtioNet::kTransmitQueue);
  EXPECT_TRUE(net.needs_reset());
  ASSERT_EQ(errors.errors.size(), 1u);
  EXPECT_EQ(errors.errors[0].code, VirtioErrc::request_malformed);
  EXPECT_EQ(errors.errors[0].queue, VirtioNet::kTransmitQueue);
  EXPECT_EQ(errors.errors[0].device_id, vs::kIdNet);
  // Receive stops too.
  post_rx();
  backend.incoming.push_back(frame(60, 1));
  net.poll_rx();
  EXPECT_EQ(backend.incoming.size(), 1u);
}

TEST_F(NetTest, ReceiveBufferThatIsReadOnlyIsTooSmall) {
  // A receive "buffer" without writable bytes cannot take a frame; it is
  // given back untouched (no error: the frame is dropped, counted).
  uint64_t b = ram.alloc(64);
  rxq.add({{b, 64, false}});
  backend.incoming.push_back(frame(20, 1));
  net.poll_rx();
  EXPECT_EQ(net.stats().rx_dropped, 1u);
  EXPECT_EQ(rxq.used_idx(), 0);
}

TEST_F(NetLoopbackTest, TransmittedFramesComeBack) {
  post_rx();
  post_rx();
  net.notify(VirtioNet::kReceiveQueue);
  send(frame(98, 42));  // e.g. an ICMP echo request
  uint32_t id, len;
  ASSERT_TRUE(rxq.take_used(id, len));
  EXPECT_EQ(len, kHdr + 98);
  EXPECT_EQ(net.stats().tx_frames, 1u);
  EXPECT_EQ(net.stats().rx_frames, 1u);
  // With no receive buffer left, frames queue in the loop until it is full.
  for (int i = 0; i < 12; ++i) send(frame(60, static_cast<uint8_t>(i)));
  // One went into the second buffer; eight wait in the loop; the rest were
  // refused by the full loop.
  EXPECT_EQ(net.stats().rx_frames, 2u);
  EXPECT_EQ(backend.queued(), NetLoopback::kFrames);
  EXPECT_EQ(net.stats().tx_dropped, 12u - 1u - NetLoopback::kFrames);
  for (int i = 0; i < 4; ++i) post_rx();
  net.notify(VirtioNet::kReceiveQueue);
  EXPECT_EQ(net.stats().rx_frames, 6u);
  EXPECT_EQ(backend.queued(), NetLoopback::kFrames - 4);
}

TEST(NetOverPci, LinuxProbeSendAndReceive) {
  GuestRam ram;
  NetLoopback loop;
  VirtioNet net(ram.mem, loop, kMac);
  VirtioPci fn(net);
  PciHost pci;
  MsiLog msi;
  pci.set_interrupt_targets(&msi, nullptr);
  ASSERT_TRUE(pci.attach(4, fn));
  EXPECT_EQ(fn.config_read(0, 4), 0x10411af4u);
  EXPECT_EQ(fn.config_read(0x08, 4) >> 8, 0x020000u);
  LinuxVirtioPci drv(pci, 4);
  DriverQueue rx(ram, 256), tx(ram, 256);
  ASSERT_TRUE(drv.bring_up({&rx, &tx}));
  EXPECT_EQ(drv.rd(drv.device + 5, 1), kMac[5]);
  uint64_t rb = ram.alloc(kHdr + 1518);
  rx.add({{rb, kHdr + 1518, true}});
  drv.kick(0);
  uint64_t tb = ram.alloc(kHdr + 60);
  std::memset(ram.host(tb), 0, kHdr);
  std::vector<uint8_t> f = frame(60, 7);
  std::memcpy(ram.host(tb + kHdr), f.data(), 60);
  tx.add({{tb, kHdr + 60, false}});
  drv.kick(1);
  EXPECT_EQ(ram.read(rb + kHdr, 60), f);
  EXPECT_EQ(msi.count(0x41), 1u);  // receive queue -> entry 1
  EXPECT_EQ(msi.count(0x42), 1u);  // transmit queue -> entry 2
}

}  // namespace
