// The component heap allocator (first fit with coalescing).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "runtime/heap.hpp"

namespace {

alignas(16) unsigned char arena[64 * 1024];

class Heap : public ::testing::Test {
 protected:
  void SetUp() override { cos::heap::init(reinterpret_cast<uint64_t>(arena), sizeof(arena)); }
};

TEST_F(Heap, AllocationsAreAlignedDisjointAndInside) {
  std::vector<unsigned char*> ps;
  for (size_t n : {1, 15, 16, 17, 100, 4000}) {
    auto* p = static_cast<unsigned char*>(cos::heap::alloc(n));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u);
    EXPECT_GE(p, arena);
    EXPECT_LE(p + n, arena + sizeof(arena));
    std::memset(p, 0xab, n);
    ps.push_back(p);
  }
  for (size_t i = 1; i < ps.size(); ++i) EXPECT_NE(ps[i], ps[i - 1]);
}

TEST_F(Heap, FreeCoalescesBackToOneBlock) {
  size_t initial = cos::heap::free_bytes();
  void* a = cos::heap::alloc(1000);
  void* b = cos::heap::alloc(2000);
  void* c = cos::heap::alloc(3000);
  ASSERT_TRUE(a && b && c);
  cos::heap::free(b);
  cos::heap::free(a);
  cos::heap::free(c);
  EXPECT_EQ(cos::heap::free_bytes(), initial);
  // The whole arena is usable again in one piece.
  EXPECT_NE(cos::heap::alloc(initial - 64), nullptr);
}

TEST_F(Heap, ExhaustionReturnsNull) {
  EXPECT_EQ(cos::heap::alloc(sizeof(arena)), nullptr);
  EXPECT_EQ(cos::heap::alloc(size_t(1) << 50), nullptr);
  cos::heap::free(nullptr);
}

}  // namespace
