// evil_blk's ring breaker (src/components/impl/evil_blk/trash_ring.cpp): the
// client end of a channel whose server end ran trash_ring() gets
// RingStatus::corrupt from its response ring and stays inside the memory
// (ASan), and the request ring the client produces on is untouched.
#include "evil_blk/trash_ring.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "channel/channel_layout.hpp"

namespace {

using cos::chan::MsgRing;
using cos::chan::RingStatus;

struct Pair {
  explicit Pair(size_t bytes) : mem(bytes, 0) {
    EXPECT_TRUE(cos::chan::attach_channel(mem.data(), mem.size(), 0, client_tx, client_rx));
    EXPECT_TRUE(cos::chan::attach_channel(mem.data(), mem.size(), 1, server_tx, server_rx));
  }
  std::vector<uint8_t> mem;
  MsgRing client_tx, client_rx, server_tx, server_rx;  // client = end 0, server = end 1
};

TEST(EvilBlk, ClientSeesCorruptResponseRing) {
  Pair p(16384);
  const char req[] = "request";
  ASSERT_EQ(p.client_tx.push(2, req, sizeof(req)), RingStatus::ok);
  uint32_t tag;
  size_t len;
  char buf[64];
  ASSERT_EQ(p.server_rx.pop(tag, len, buf, sizeof(buf)), RingStatus::ok);
  const char resp[] = "honest answer";
  ASSERT_EQ(p.server_tx.push(2, resp, sizeof(resp)), RingStatus::ok);
  ASSERT_EQ(p.client_rx.pop(tag, len, buf, sizeof(buf)), RingStatus::ok);  // served honestly first
  EXPECT_STREQ(buf, resp);

  const uint32_t old = cos::evil_blk::trash_ring(p.mem.data(), p.mem.size(), 1);
  EXPECT_EQ(old, 8u + 16u);  // one record: header and 14 bytes padded to 16
  EXPECT_EQ(p.client_rx.pop(tag, len, buf, sizeof(buf)), RingStatus::corrupt);
  EXPECT_TRUE(p.client_rx.broken());
  EXPECT_EQ(p.client_rx.peek(tag, len), RingStatus::corrupt);  // and it stays so
  // The request ring (end 0 produces) still works both ways.
  EXPECT_EQ(p.client_tx.push(3, req, sizeof(req)), RingStatus::ok);
  EXPECT_EQ(p.server_rx.pop(tag, len, buf, sizeof(buf)), RingStatus::ok);
  EXPECT_EQ(tag, 3u);
}

TEST(EvilBlk, TailWrapsWithinTwiceTheCapacity) {
  Pair p(4096);
  const size_t cap = p.server_tx.capacity();
  // Put the server's tail 32 bytes short of 2 * capacity.
  auto* tail = reinterpret_cast<uint32_t*>(p.mem.data() + MsgRing::kControlBytes);
  *tail = static_cast<uint32_t>(2 * cap - 32);
  auto* head = reinterpret_cast<uint32_t*>(p.mem.data() + MsgRing::kControlBytes + 64);
  *head = *tail;
  EXPECT_EQ(cos::evil_blk::trash_ring(p.mem.data(), p.mem.size(), 1), 2 * cap - 32);
  EXPECT_EQ(*tail, 32u);
  uint32_t tag;
  size_t len;
  char buf[64];
  EXPECT_EQ(p.client_rx.pop(tag, len, buf, sizeof(buf)), RingStatus::corrupt);
}

TEST(EvilBlk, RefusesBadArguments) {
  std::vector<uint8_t> mem(4096, 0);
  EXPECT_EQ(cos::evil_blk::trash_ring(mem.data(), mem.size(), 2), 0u);
  EXPECT_EQ(cos::evil_blk::trash_ring(mem.data(), 64, 1), 0u);
  for (uint8_t b : mem) ASSERT_EQ(b, 0);
}

}  // namespace
