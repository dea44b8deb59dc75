// simple_vmm's PC memory map (guest_loader.cpp pc_memory_map): RAM below
// 3 GiB at 0, the rest from 4 GiB above the 32-bit MMIO hole.
#include <gtest/gtest.h>

#include "cos/limits.hpp"
#include "simple_vmm/guest_loader.hpp"

namespace {

using cos::guest::E820Entry;
using cos::guest::kE820Ram;
using cos::guest::kE820Reserved;
namespace sv = cos::simple_vmm;

TEST(PcMemoryMap, SmallGuestIsOneRangeAboveOneMib) {
  E820Entry m[cos::guest::kMaxE820];
  ASSERT_EQ(sv::pc_memory_map(256ull << 20, m), 3u);
  EXPECT_EQ(m[0].addr, 0u);
  EXPECT_EQ(m[0].size, sv::kConventionalTop);
  EXPECT_EQ(m[0].type, kE820Ram);
  EXPECT_EQ(m[1].addr, sv::kConventionalTop);
  EXPECT_EQ(m[1].addr + m[1].size, 0x100000u);
  EXPECT_EQ(m[1].type, kE820Reserved);
  EXPECT_EQ(m[2].addr, 0x100000u);
  EXPECT_EQ(m[2].addr + m[2].size, 256ull << 20);
  EXPECT_EQ(m[2].type, kE820Ram);
}

TEST(PcMemoryMap, ThreeGibFitsBelowTheHole) {
  E820Entry m[cos::guest::kMaxE820];
  ASSERT_EQ(sv::pc_memory_map(3ull << 30, m), 3u);
  EXPECT_EQ(m[2].addr + m[2].size, 0xc0000000u);
}

TEST(PcMemoryMap, MoreThanThreeGibContinuesAtFourGib) {
  E820Entry m[cos::guest::kMaxE820];
  ASSERT_EQ(sv::pc_memory_map(5ull << 30, m), 4u);
  EXPECT_EQ(m[2].addr, 0x100000u);
  EXPECT_EQ(m[2].addr + m[2].size, 0xc0000000u) << "RAM ends where the PCI MMIO window starts";
  EXPECT_EQ(m[3].addr, 1ull << 32);
  EXPECT_EQ(m[3].size, 2ull << 30);
  EXPECT_EQ(m[3].type, kE820Ram);
  uint64_t ram = 0;
  for (unsigned i = 0; i < 4; ++i) ram += m[i].type == kE820Ram ? m[i].size : 0;
  EXPECT_EQ(ram, (5ull << 30) - (0x100000u - sv::kConventionalTop));
  ASSERT_EQ(sv::pc_memory_map(cos_limits::kMaxGuestRamBytes, m), 4u);
  EXPECT_EQ(m[3].addr + m[3].size, (4ull << 30) + (13ull << 30));
}

}  // namespace
