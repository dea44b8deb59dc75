// The untyped page allocator (free runs kept inside the free memory).
#include <gtest/gtest.h>

#include <vector>

#include "kernel/free_runs.hpp"

namespace {

using cos::FreeRun;
using cos::FreeRuns;

constexpr uint64_t kBase = 0x100000;
constexpr uint64_t kPages = 64;
std::vector<FreeRun> g_nodes(kPages);

// Physical page -> node storage: one slot per page of the fake region.
FreeRun* node_at(uint64_t pa) { return &g_nodes.at((pa - kBase) / 4096); }

TEST(FreeRuns, TakeFirstFitAndAlignment) {
  FreeRuns f(node_at);
  f.release(kBase, kPages);
  EXPECT_EQ(f.free_pages(), kPages);
  uint64_t a, b, c;
  ASSERT_TRUE(f.take(1, 1, a));
  EXPECT_EQ(a, kBase);
  ASSERT_TRUE(f.take(4, 4, b));
  EXPECT_EQ(b % (4 * 4096), 0u);
  EXPECT_GT(b, a);
  ASSERT_TRUE(f.take(2, 1, c));
  EXPECT_EQ(c, kBase + 4096) << "first fit reuses the hole left by alignment";
  EXPECT_EQ(f.free_pages(), kPages - 7);
}

TEST(FreeRuns, ExhaustionAndZero) {
  FreeRuns f(node_at);
  f.release(kBase, 8);
  uint64_t pa;
  EXPECT_FALSE(f.take(9, 1, pa));
  EXPECT_FALSE(f.take(0, 1, pa));
  EXPECT_TRUE(f.take(8, 1, pa));
  EXPECT_FALSE(f.take(1, 1, pa));
  EXPECT_EQ(f.free_pages(), 0u);
}

TEST(FreeRuns, ReleaseCoalescesBothNeighbours) {
  FreeRuns f(node_at);
  f.release(kBase, 16);
  uint64_t a, b, c;
  ASSERT_TRUE(f.take(4, 1, a));
  ASSERT_TRUE(f.take(4, 1, b));
  ASSERT_TRUE(f.take(8, 1, c));
  EXPECT_EQ(f.runs(), 0u);
  f.release(a, 4);
  f.release(c, 8);
  EXPECT_EQ(f.runs(), 2u);
  f.release(b, 4);  // joins both
  EXPECT_EQ(f.runs(), 1u);
  EXPECT_EQ(f.free_pages(), 16u);
  uint64_t all;
  ASSERT_TRUE(f.take(16, 1, all));
  EXPECT_EQ(all, kBase);
}

}  // namespace
