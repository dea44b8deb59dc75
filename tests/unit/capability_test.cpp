// Capability tables and untyped-memory carving.
#include <gtest/gtest.h>

#include "capability.hpp"

namespace {

using cos::Capability;
using cos::CapTable;
using cos::Error;
using cos::ObjType;

TEST(CapTable, SlotZeroAndOutOfRangeAreInvalid) {
  Capability slots[8] = {};
  CapTable t(slots, 8);
  Capability* c;
  EXPECT_EQ(t.slot(0, c), Error::bad_slot);
  EXPECT_EQ(t.slot(8, c), Error::bad_slot);
  EXPECT_EQ(t.slot(~0ull, c), Error::bad_slot);
  EXPECT_EQ(t.slot(7, c), Error::ok);
  EXPECT_EQ(c, &slots[7]);
}

TEST(CapTable, GetChecksEmptinessAndType) {
  Capability slots[4] = {};
  CapTable t(slots, 4);
  Capability* c;
  EXPECT_EQ(t.get(1, ObjType::frame, c), Error::empty_slot);
  slots[1].type = static_cast<uint8_t>(ObjType::frame);
  EXPECT_EQ(t.get(1, ObjType::frame, c), Error::ok);
  EXPECT_EQ(t.get(1, ObjType::thread, c), Error::wrong_type);
  EXPECT_EQ(t.get(1, ObjType::none, c), Error::ok) << "none accepts any type";
}

TEST(CapTable, FreeSlotRejectsOccupied) {
  Capability slots[4] = {};
  CapTable t(slots, 4);
  Capability* c;
  EXPECT_EQ(t.free_slot(2, c), Error::ok);
  slots[2].type = static_cast<uint8_t>(ObjType::comp);
  EXPECT_EQ(t.free_slot(2, c), Error::slot_occupied);
}

Capability untyped(uint64_t base, uint64_t size) {
  Capability c{};
  c.type = static_cast<uint8_t>(ObjType::untyped);
  c.w0 = base;
  c.w1 = size;
  return c;
}

TEST(Untyped, CarvesDisjointAlignedPieces) {
  Capability ut = untyped(0x100000, 16 * 4096);
  uint64_t a, b, c;
  ASSERT_EQ(cos::untyped_carve(ut, 1, 1, a), Error::ok);
  ASSERT_EQ(cos::untyped_carve(ut, 4, 4, b), Error::ok);
  ASSERT_EQ(cos::untyped_carve(ut, 2, 1, c), Error::ok);
  EXPECT_EQ(a, 0x100000u);
  EXPECT_EQ(b % (4 * 4096), 0u) << "aligned to 4 pages";
  EXPECT_GE(b, a + 4096);
  EXPECT_GE(c, b + 4 * 4096);
  EXPECT_LE(c + 2 * 4096, 0x100000u + 16 * 4096);
}

TEST(Untyped, ExhaustionIsAnErrorAndChangesNothing) {
  Capability ut = untyped(0x200000, 4 * 4096);
  uint64_t pa;
  ASSERT_EQ(cos::untyped_carve(ut, 3, 1, pa), Error::ok);
  uint64_t used = ut.w2;
  EXPECT_EQ(cos::untyped_carve(ut, 2, 1, pa), Error::out_of_memory);
  EXPECT_EQ(ut.w2, used);
  EXPECT_EQ(cos::untyped_carve(ut, 0, 1, pa), Error::out_of_memory);
  EXPECT_EQ(cos::untyped_carve(ut, 1ull << 60, 1, pa), Error::out_of_memory);
  ASSERT_EQ(cos::untyped_carve(ut, 1, 1, pa), Error::ok);
  EXPECT_EQ(pa, 0x200000u + 3 * 4096);
}

}  // namespace
