// Capability tables and untyped-memory carving.
#include <gtest/gtest.h>

#include "kernel/capability.hpp"

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

// --- derivation tree ----------------------------------------------------------

TEST(Cdt, InsertKeepsChildrenInOrder) {
  Capability root{}, a{}, b{}, c{};
  cos::cdt::insert_child(&root, &a);
  cos::cdt::insert_child(&root, &b);
  cos::cdt::insert_child(&root, &c);
  EXPECT_EQ(root.first_child, &a);
  EXPECT_EQ(a.next_sibling, &b);
  EXPECT_EQ(b.next_sibling, &c);
  EXPECT_EQ(c.prev_sibling, &b);
  EXPECT_EQ(c.parent, &root);
  EXPECT_TRUE(cos::cdt::is_descendant(&root, &b));
  EXPECT_FALSE(cos::cdt::is_descendant(&a, &b));
}

TEST(Cdt, UnlinkReparentsChildrenInPlace) {
  // root -> {a, b, c}, b -> {b1, b2}; removing b leaves root -> {a, b1, b2, c}.
  Capability root{}, a{}, b{}, c{}, b1{}, b2{};
  cos::cdt::insert_child(&root, &a);
  cos::cdt::insert_child(&root, &b);
  cos::cdt::insert_child(&root, &c);
  cos::cdt::insert_child(&b, &b1);
  cos::cdt::insert_child(&b, &b2);
  cos::cdt::unlink(&b);
  EXPECT_EQ(root.first_child, &a);
  EXPECT_EQ(a.next_sibling, &b1);
  EXPECT_EQ(b1.next_sibling, &b2);
  EXPECT_EQ(b2.next_sibling, &c);
  EXPECT_EQ(c.prev_sibling, &b2);
  EXPECT_EQ(b1.prev_sibling, &a);
  EXPECT_EQ(b1.parent, &root);
  EXPECT_EQ(b2.parent, &root);
  EXPECT_EQ(b.parent, nullptr);
  EXPECT_EQ(b.first_child, nullptr);
}

TEST(Cdt, UnlinkFirstChildAndRoots) {
  Capability root{}, a{}, a1{};
  cos::cdt::insert_child(&root, &a);
  cos::cdt::insert_child(&a, &a1);
  cos::cdt::unlink(&a);
  EXPECT_EQ(root.first_child, &a1);
  EXPECT_EQ(a1.parent, &root);
  // Unlinking a root with children makes them roots.
  cos::cdt::unlink(&root);
  EXPECT_EQ(a1.parent, nullptr);
  EXPECT_EQ(a1.prev_sibling, nullptr);
}

// Revoke as the kernel does it: remove deepest descendants until none is left.
TEST(Cdt, RevokeRemovesEveryDescendantButNotSiblings) {
  Capability root{}, keep{}, mid{}, leaf1{}, leaf2{}, deep{};
  cos::cdt::insert_child(&root, &mid);
  cos::cdt::insert_child(&root, &keep);  // sibling of the revoked cap: untouched
  cos::cdt::insert_child(&mid, &leaf1);
  cos::cdt::insert_child(&mid, &leaf2);
  cos::cdt::insert_child(&leaf2, &deep);
  int removed = 0;
  while (Capability* d = cos::cdt::deepest_descendant(&mid)) {
    EXPECT_EQ(d->first_child, nullptr) << "only leaves are removed";
    cos::cdt::unlink(d);
    ++removed;
  }
  EXPECT_EQ(removed, 3);
  EXPECT_EQ(mid.first_child, nullptr);
  EXPECT_EQ(root.first_child, &mid);
  EXPECT_EQ(mid.next_sibling, &keep);
  EXPECT_EQ(keep.parent, &root);
}

TEST(Capability, RightsCheck) {
  Capability slots[3] = {};
  CapTable t(slots, 3);
  slots[1].type = static_cast<uint8_t>(ObjType::frame);
  slots[1].rights = cos::abi::Rights::read | cos::abi::Rights::grant;
  Capability* c;
  EXPECT_EQ(t.get(1, ObjType::frame, c, cos::abi::Rights::read), Error::ok);
  EXPECT_EQ(t.get(1, ObjType::frame, c, cos::abi::Rights::write), Error::no_rights);
  EXPECT_EQ(t.get(1, ObjType::frame, c, cos::abi::Rights::read | cos::abi::Rights::write), Error::no_rights);
}

}  // namespace
