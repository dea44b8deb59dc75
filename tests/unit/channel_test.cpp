// Channel message rings (src/components/lib/channel/msg_ring.hpp), their
// layout in a channel's memory and the block protocol server, including
// what a hostile peer can do to the shared indices and records.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "channel/blk_server.hpp"
#include "channel/channel_layout.hpp"
#include "channel/msg_ring.hpp"
#include "test_rng.hpp"

using namespace cos::chan;

namespace {

struct Ring {
  alignas(64) uint8_t control[MsgRing::kControlBytes] = {};
  std::vector<uint8_t> data;
  MsgRing producer, consumer;
  explicit Ring(size_t bytes) : data(bytes) {
    EXPECT_TRUE(producer.attach(control, data.data(), bytes));
    EXPECT_TRUE(consumer.attach(control, data.data(), bytes));
  }
  uint32_t& tail() { return *reinterpret_cast<uint32_t*>(control); }
  uint32_t& head() { return *reinterpret_cast<uint32_t*>(control + 64); }
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

TEST(MsgRing, AttachRefusesTinyOrMisaligned) {
  alignas(8) uint8_t control[128], data[64];
  MsgRing r;
  EXPECT_FALSE(r.attach(control, data, 8));
  EXPECT_FALSE(r.attach(control + 1, data, 64));
  EXPECT_FALSE(r.attach(control, data + 4, 32));
  EXPECT_TRUE(r.attach(control, data, 64));
  EXPECT_EQ(r.capacity(), 64u);
  EXPECT_EQ(r.max_message(), 24u);
}

TEST(MsgRing, MessagesArriveInOrderWithTagsAndGather) {
  Ring r(1024);
  auto a = pattern(10, 1), b = pattern(33, 2);
  ASSERT_EQ(r.producer.push(7, a.data(), a.size(), b.data(), b.size()), RingStatus::ok);
  ASSERT_EQ(r.producer.push(8, nullptr, 0), RingStatus::ok);
  uint32_t tag;
  size_t len;
  ASSERT_EQ(r.consumer.peek(tag, len), RingStatus::ok);
  EXPECT_EQ(tag, 7u);
  EXPECT_EQ(len, 43u);
  uint8_t hdr[4], rest[64];
  ASSERT_EQ(r.consumer.pop(tag, len, hdr, sizeof(hdr), rest, sizeof(rest)), RingStatus::ok);
  EXPECT_EQ(0, std::memcmp(hdr, a.data(), 4));
  EXPECT_EQ(0, std::memcmp(rest, a.data() + 4, 6));
  EXPECT_EQ(0, std::memcmp(rest + 6, b.data(), 33));
  ASSERT_EQ(r.consumer.pop(tag, len, hdr, sizeof(hdr)), RingStatus::ok);
  EXPECT_EQ(tag, 8u);
  EXPECT_EQ(len, 0u);
  EXPECT_EQ(r.consumer.pop(tag, len, hdr, sizeof(hdr)), RingStatus::empty);
}

TEST(MsgRing, FullThenDrainsAndWrapsWithPadRecords) {
  Ring r(256);
  const size_t max = r.producer.max_message();
  ASSERT_EQ(max, 120u);
  EXPECT_EQ(r.producer.push(1, nullptr, max + 1), RingStatus::too_big);
  // Many rounds of odd sizes: every byte arrives, the ring wraps many times
  // (and the 2 * capacity index space too).
  cos::test::Rng rng(42);
  uint64_t sent = 0, received = 0;
  std::vector<std::vector<uint8_t>> in_flight;
  for (int round = 0; round < 20000; ++round) {
    if (rng() % 2) {
      size_t n = rng() % (max + 1);
      auto m = pattern(n, static_cast<uint8_t>(sent));
      RingStatus s = r.producer.push(static_cast<uint32_t>(sent), m.data(), n);
      if (s == RingStatus::ok) {
        in_flight.push_back(m);
        ++sent;
      } else {
        ASSERT_EQ(s, RingStatus::full);
        ASSERT_FALSE(in_flight.empty());  // an empty ring always takes a max_message()
      }
    } else {
      uint8_t buf[128];
      uint32_t tag;
      size_t len;
      RingStatus s = r.consumer.pop(tag, len, buf, sizeof(buf));
      if (s == RingStatus::empty) {
        ASSERT_TRUE(in_flight.empty());
        continue;
      }
      ASSERT_EQ(s, RingStatus::ok);
      ASSERT_EQ(tag, static_cast<uint32_t>(received));
      ASSERT_EQ(len, in_flight.front().size());
      if (len) ASSERT_EQ(0, std::memcmp(buf, in_flight.front().data(), len));
      in_flight.erase(in_flight.begin());
      ++received;
    }
  }
  EXPECT_GT(received, 5000u);
}

TEST(MsgRing, ConsumerTooSmallBufferTakesNothing) {
  Ring r(256);
  auto m = pattern(40, 3);
  ASSERT_EQ(r.producer.push(1, m.data(), m.size()), RingStatus::ok);
  uint8_t buf[16];
  uint32_t tag;
  size_t len;
  EXPECT_EQ(r.consumer.pop(tag, len, buf, sizeof(buf)), RingStatus::too_big);
  EXPECT_EQ(len, 40u);
  EXPECT_EQ(r.consumer.skip(), RingStatus::ok);
  EXPECT_EQ(r.consumer.peek(tag, len), RingStatus::empty);
}

TEST(MsgRing, HostileProducerIndicesAreCorrupt) {
  for (uint32_t bad_tail : {1u, 4u, 512u, 513u, 0xfffffff8u}) {
    Ring r(256);
    r.tail() = bad_tail;
    uint32_t tag;
    size_t len;
    EXPECT_EQ(r.consumer.peek(tag, len), RingStatus::corrupt) << bad_tail;
    EXPECT_TRUE(r.consumer.broken());
    // Once broken, always broken, even if the peer repairs the index.
    r.tail() = 0;
    EXPECT_EQ(r.consumer.peek(tag, len), RingStatus::corrupt);
  }
}

TEST(MsgRing, HostileRecordLengthsAreCorrupt) {
  uint32_t tag;
  size_t len;
  uint8_t buf[512];
  {  // a length beyond the bytes produced
    Ring r(256);
    ASSERT_EQ(r.producer.push(1, buf, 8), RingStatus::ok);
    *reinterpret_cast<uint32_t*>(r.data.data()) = 200;
    EXPECT_EQ(r.consumer.pop(tag, len, buf, sizeof(buf)), RingStatus::corrupt);
  }
  {  // a pad record that does not run to the end
    Ring r(256);
    ASSERT_EQ(r.producer.push(1, buf, 8), RingStatus::ok);
    *reinterpret_cast<uint32_t*>(r.data.data()) = MsgRing::kPad;
    EXPECT_EQ(r.consumer.pop(tag, len, buf, sizeof(buf)), RingStatus::corrupt);
  }
  {  // a length larger than max_message (would run past the end)
    Ring r(256);
    r.tail() = 248;
    r.head() = 240;
    *reinterpret_cast<uint32_t*>(r.data.data() + 240) = 0x7fffffff;
    EXPECT_EQ(r.consumer.pop(tag, len, buf, sizeof(buf)), RingStatus::corrupt);
  }
}

TEST(MsgRing, HostileConsumerHeadIsCorruptForTheProducer) {
  Ring r(256);
  r.head() = 300;  // beyond the tail by more than the capacity allows
  EXPECT_EQ(r.producer.push(1, nullptr, 0), RingStatus::corrupt);
}

TEST(MsgRing, RandomGarbageNeverEscapesTheRing) {
  // ASan guards the vectors: whatever the shared bytes hold, no access
  // leaves the data area and every call returns.
  cos::test::Rng rng(7);
  for (int i = 0; i < 20000; ++i) {
    Ring r(64 + 8 * (rng() % 40));
    for (auto& b : r.data) b = static_cast<uint8_t>(rng());
    r.tail() = static_cast<uint32_t>(rng() % (2 * r.data.size() + 16));
    r.head() = static_cast<uint32_t>(rng() % (2 * r.data.size() + 16));
    uint8_t buf[512];
    uint32_t tag;
    size_t len;
    for (int k = 0; k < 4; ++k) (void)r.consumer.pop(tag, len, buf, sizeof(buf));
    (void)r.producer.push(1, buf, rng() % 64);
  }
}

TEST(ChannelLayout, EndsSeeEachOthersMessages) {
  std::vector<uint64_t> mem(8192 / 8);
  MsgRing tx0, rx0, tx1, rx1;
  ASSERT_TRUE(attach_channel(mem.data(), 8192, 0, tx0, rx0));
  ASSERT_TRUE(attach_channel(mem.data(), 8192, 1, tx1, rx1));
  EXPECT_FALSE(attach_channel(mem.data(), 8192, 2, tx1, rx1));
  EXPECT_FALSE(attach_channel(mem.data(), 200, 0, tx1, rx1));
  EXPECT_EQ(tx0.capacity(), (8192 - 256) / 2 / 8 * 8);
  const char a[] = "from end 0", b[] = "from end 1";
  ASSERT_EQ(tx0.push(1, a, sizeof(a)), RingStatus::ok);
  ASSERT_EQ(tx1.push(2, b, sizeof(b)), RingStatus::ok);
  char buf[32];
  uint32_t tag;
  size_t len;
  ASSERT_EQ(rx1.pop(tag, len, buf, sizeof(buf)), RingStatus::ok);
  EXPECT_STREQ(buf, a);
  ASSERT_EQ(rx0.pop(tag, len, buf, sizeof(buf)), RingStatus::ok);
  EXPECT_STREQ(buf, b);
  EXPECT_EQ(rx0.pop(tag, len, buf, sizeof(buf)), RingStatus::empty);
}

struct BlkFixture : ::testing::Test {
  std::vector<uint64_t> mem = std::vector<uint64_t>(65536 / 8);
  MsgRing ctx, crx, stx, srx;  // client and server ends
  std::vector<uint8_t> disk = pattern(64 * 512, 9);
  std::vector<uint8_t> scratch;
  void SetUp() override {
    ASSERT_TRUE(attach_channel(mem.data(), 65536, 0, ctx, crx));
    ASSERT_TRUE(attach_channel(mem.data(), 65536, 1, stx, srx));
    scratch.resize(srx.max_message());
  }
  BlkResponse call(BlkServer& s, uint32_t op, uint64_t sector, uint32_t count, const uint8_t* data = nullptr,
                   uint8_t* out = nullptr) {
    BlkRequest req{77, sector, count, 0};
    EXPECT_EQ(ctx.push(op, &req, sizeof(req), data, data ? count * 512 : 0), RingStatus::ok);
    bool broken = true;
    EXPECT_EQ(s.serve(srx, stx, broken), 1u);
    EXPECT_FALSE(broken);
    BlkResponse resp{};
    uint32_t tag;
    size_t len;
    std::vector<uint8_t> sink(crx.max_message());
    EXPECT_EQ(crx.pop(tag, len, &resp, sizeof(resp), out ? out : sink.data(), sink.size()), RingStatus::ok);
    EXPECT_EQ(tag, op);
    EXPECT_EQ(resp.id, 77u);
    return resp;
  }
};

TEST_F(BlkFixture, InfoReadWrite) {
  BlkServer s(disk.data(), disk.size(), false, scratch.data(), scratch.size());
  BlkResponse r = call(s, kBlkInfo, 0, 0);
  EXPECT_EQ(r.status, kBlkOk);
  EXPECT_EQ(r.capacity, 64u);
  EXPECT_EQ(r.flags, 0u);
  std::vector<uint8_t> out(4 * 512);
  r = call(s, kBlkRead, 3, 4, nullptr, out.data());
  ASSERT_EQ(r.status, kBlkOk);
  EXPECT_EQ(0, std::memcmp(out.data(), disk.data() + 3 * 512, out.size()));
  auto w = pattern(2 * 512, 200);
  r = call(s, kBlkWrite, 62, 2, w.data());
  ASSERT_EQ(r.status, kBlkOk);
  EXPECT_EQ(0, std::memcmp(disk.data() + 62 * 512, w.data(), w.size()));
  EXPECT_EQ(call(s, kBlkFlush, 0, 0).status, kBlkOk);
  EXPECT_EQ(call(s, 99, 0, 0).status, kBlkUnsupported);
}

TEST_F(BlkFixture, OutOfRangeAndMismatchedWritesFail) {
  BlkServer s(disk.data(), disk.size(), false, scratch.data(), scratch.size());
  auto before = disk;
  EXPECT_EQ(call(s, kBlkRead, 63, 2).status, kBlkIoError);
  EXPECT_EQ(call(s, kBlkRead, ~0ull, 1).status, kBlkIoError);
  EXPECT_EQ(call(s, kBlkRead, 1, 0xffffffffu).status, kBlkIoError);
  // A write whose data does not match its count.
  BlkRequest req{77, 0, 4, 0};
  uint8_t data[512] = {1};
  ASSERT_EQ(ctx.push(kBlkWrite, &req, sizeof(req), data, sizeof(data)), RingStatus::ok);
  bool broken;
  EXPECT_EQ(s.serve(srx, stx, broken), 1u);
  BlkResponse resp;
  uint32_t tag;
  size_t len;
  ASSERT_EQ(crx.pop(tag, len, &resp, sizeof(resp)), RingStatus::ok);
  EXPECT_EQ(resp.status, kBlkIoError);
  EXPECT_EQ(disk, before);
}

TEST_F(BlkFixture, ReadOnlyDiskRefusesWrites) {
  BlkServer s(disk.data(), disk.size(), true, scratch.data(), scratch.size());
  EXPECT_EQ(call(s, kBlkInfo, 0, 0).flags, kBlkFlagReadOnly);
  auto before = disk;
  auto w = pattern(512, 1);
  EXPECT_EQ(call(s, kBlkWrite, 0, 1, w.data()).status, kBlkIoError);
  EXPECT_EQ(disk, before);
}

TEST_F(BlkFixture, CorruptClientRingStopsServingIt) {
  BlkServer s(disk.data(), disk.size(), false, scratch.data(), scratch.size());
  *reinterpret_cast<uint32_t*>(mem.data()) = 12345;  // ring 0's tail: not a multiple of 8
  bool broken = false;
  EXPECT_EQ(s.serve(srx, stx, broken), 0u);
  EXPECT_TRUE(broken);
}

TEST(BlkProtocol, MaxSectorsFitsOneMessage) {
  EXPECT_EQ(blk_max_sectors(24 + 512 * 8), 8u);
  EXPECT_EQ(blk_max_sectors(24 + 512 * 8 - 1), 7u);
  EXPECT_EQ(blk_max_sectors(10), 0u);
}

}  // namespace
