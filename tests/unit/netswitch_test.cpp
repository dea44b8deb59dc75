// The learning switch's forwarding decision (netswitch/mac_table.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "netswitch/mac_table.hpp"

using cos::netswitch::MacTable;

namespace {

std::vector<uint8_t> frame(const uint8_t (&dst)[6], const uint8_t (&src)[6]) {
  std::vector<uint8_t> f(60, 0);
  std::memcpy(f.data(), dst, 6);
  std::memcpy(f.data() + 6, src, 6);
  f[12] = 0x08;
  return f;
}

const uint8_t kA[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x11};
const uint8_t kB[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x12};
const uint8_t kC[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x13};
const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

TEST(MacTable, FloodsUnknownAndBroadcastThenLearns) {
  MacTable t(3);
  auto f = frame(kBroadcast, kA);
  EXPECT_EQ(t.route(0, f.data(), f.size()), 0b110u);  // ARP request from A: everyone but A's port
  EXPECT_EQ(t.lookup(kA), 0);
  f = frame(kA, kB);
  EXPECT_EQ(t.route(1, f.data(), f.size()), 0b001u);  // B's reply: A's port only
  f = frame(kB, kA);
  EXPECT_EQ(t.route(0, f.data(), f.size()), 0b010u);
  f = frame(kC, kA);
  EXPECT_EQ(t.route(0, f.data(), f.size()), 0b110u);  // C unknown: flooded
}

TEST(MacTable, DropsRuntsBadPortsAndMulticastSources) {
  MacTable t(2);
  auto f = frame(kB, kA);
  EXPECT_EQ(t.route(0, f.data(), 13), 0u);
  EXPECT_EQ(t.route(2, f.data(), f.size()), 0u);
  const uint8_t multicast_src[6] = {0x01, 0, 0x5e, 0, 0, 1};
  f = frame(kB, multicast_src);
  EXPECT_EQ(t.route(0, f.data(), f.size()), 0u);
  EXPECT_EQ(t.lookup(multicast_src), -1);
}

TEST(MacTable, FrameForTheIncomingPortIsFilteredAndMovesAreLearnt) {
  MacTable t(3);
  auto f = frame(kBroadcast, kA);
  t.route(0, f.data(), f.size());
  f = frame(kBroadcast, kB);
  t.route(0, f.data(), f.size());  // B behind the same port as A
  f = frame(kB, kA);
  EXPECT_EQ(t.route(0, f.data(), f.size()), 0u);
  f = frame(kBroadcast, kB);
  t.route(2, f.data(), f.size());  // B moved to port 2
  f = frame(kB, kA);
  EXPECT_EQ(t.route(0, f.data(), f.size()), 0b100u);
}

TEST(MacTable, FullTableReplacesTheOldestEntry) {
  MacTable t(2);
  uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 0};
  for (unsigned i = 0; i < MacTable::kEntries + 1; ++i) {
    mac[4] = static_cast<uint8_t>(i >> 8);
    mac[5] = static_cast<uint8_t>(i);
    std::vector<uint8_t> f(60, 0);
    std::memset(f.data(), 0xff, 6);
    std::memcpy(f.data() + 6, mac, 6);
    t.route(1, f.data(), f.size());
  }
  mac[4] = 0, mac[5] = 0;
  EXPECT_EQ(t.lookup(mac), -1);  // the first one learnt went
  mac[4] = 1, mac[5] = 0;
  EXPECT_EQ(t.lookup(mac), 1);   // the last one is there
}

}  // namespace
