// Capability tables and the capability derivation tree (kernel/cdt.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "kernel/capability.hpp"
#include "unit/test_rng.hpp"

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

using cos::WorkBudget;
namespace cdt = cos::cdt;

/// The children of `c` in list order (walks the circular sibling list once).
std::vector<Capability*> children(const Capability* c) {
  std::vector<Capability*> out;
  Capability* first = c->first_child;
  if (!first) return out;
  Capability* k = first;
  do {
    out.push_back(k);
    k = k->next_sibling;
  } while (k != first);
  return out;
}

/// Fills `c` like cap_install does before linking it (a non-empty type).
void fill(Capability& c) {
  c = Capability{};
  c.type = static_cast<uint8_t>(ObjType::frame);
}

/// Checks the sibling list below `c` is well formed: circular both ways,
/// exactly the first node flagged and holding the parent. Linear in the
/// number of children.
void expect_well_formed_children(const Capability* c) {
  std::vector<Capability*> kids = children(c);
  for (size_t i = 0; i < kids.size(); ++i) {
    Capability* k = kids[i];
    ASSERT_EQ(k->next_sibling->prev_sibling, k);
    ASSERT_EQ(k->prev_sibling->next_sibling, k);
    ASSERT_EQ((k->flags & cdt::kFirstSibling) != 0, i == 0);
    ASSERT_EQ(k->list_parent, i == 0 ? c : nullptr);
  }
  if (!kids.empty()) {
    EXPECT_EQ(cdt::parent(kids.front()), c);
    EXPECT_EQ(cdt::parent(kids.back()), c);
  }
}

// What the kernel's cap_remove does to the tree and the slot.
std::vector<Capability*> g_removed;
void remove_cap(Capability* c) {
  EXPECT_FALSE(c->empty()) << "a capability is removed once";
  cdt::unlink(c);
  g_removed.push_back(c);
  *c = Capability{};
}

TEST(Cdt, InsertAppendsChildrenInOrder) {
  Capability root{}, a{}, b{}, c{};
  cdt::insert_child(nullptr, &root);
  cdt::insert_child(&root, &a);
  cdt::insert_child(&root, &b);
  cdt::insert_child(&root, &c);
  EXPECT_EQ(children(&root), (std::vector<Capability*>{&a, &b, &c}));
  expect_well_formed_children(&root);
  EXPECT_EQ(cdt::parent(&root), nullptr);
  EXPECT_TRUE(cdt::is_descendant(&root, &b));
  EXPECT_FALSE(cdt::is_descendant(&a, &b));
  EXPECT_FALSE(cdt::is_descendant(&b, &root));
}

TEST(Cdt, UnlinkSplicesChildrenInPlace) {
  // root -> {a, b, c}, b -> {b1, b2}; removing b leaves root -> {a, b1, b2, c}.
  Capability root{}, a{}, b{}, c{}, b1{}, b2{};
  cdt::insert_child(nullptr, &root);
  for (Capability* k : {&a, &b, &c}) cdt::insert_child(&root, k);
  cdt::insert_child(&b, &b1);
  cdt::insert_child(&b, &b2);
  cdt::unlink(&b);
  EXPECT_EQ(children(&root), (std::vector<Capability*>{&a, &b1, &b2, &c}));
  expect_well_formed_children(&root);
  EXPECT_EQ(b.first_child, nullptr);
  EXPECT_EQ(b.next_sibling, nullptr);
  EXPECT_EQ(b.prev_sibling, nullptr);
  EXPECT_EQ(b.list_parent, nullptr);
  EXPECT_EQ(b.flags & cdt::kFirstSibling, 0);
}

TEST(Cdt, UnlinkFirstLastAndOnlyChild) {
  Capability root{}, a{}, a1{}, a2{}, b{}, c{}, c1{};
  cdt::insert_child(nullptr, &root);
  for (Capability* k : {&a, &b, &c}) cdt::insert_child(&root, k);
  cdt::insert_child(&a, &a1);
  cdt::insert_child(&a, &a2);
  cdt::insert_child(&c, &c1);
  cdt::unlink(&a);  // first, with children: a1 becomes first
  EXPECT_EQ(children(&root), (std::vector<Capability*>{&a1, &a2, &b, &c}));
  expect_well_formed_children(&root);
  cdt::unlink(&c);  // last, with a child
  EXPECT_EQ(children(&root), (std::vector<Capability*>{&a1, &a2, &b, &c1}));
  expect_well_formed_children(&root);
  cdt::unlink(&a1);  // first, no children
  cdt::unlink(&c1);  // last, no children
  EXPECT_EQ(children(&root), (std::vector<Capability*>{&a2, &b}));
  expect_well_formed_children(&root);
  cdt::unlink(&b);
  cdt::unlink(&a2);  // the only child
  EXPECT_EQ(root.first_child, nullptr);
}

TEST(Cdt, UnlinkRootLeavesAParentlessList) {
  Capability root{}, a{}, b{}, b1{};
  cdt::insert_child(nullptr, &root);
  cdt::insert_child(&root, &a);
  cdt::insert_child(&root, &b);
  cdt::insert_child(&b, &b1);
  cdt::unlink(&root);
  EXPECT_EQ(cdt::parent(&a), nullptr);
  EXPECT_EQ(cdt::parent(&b), nullptr);
  EXPECT_EQ(cdt::parent(&b1), &b);
  // Each may still be deleted or revoked.
  cdt::unlink(&a);
  EXPECT_EQ(cdt::parent(&b), nullptr);
  EXPECT_EQ(b.next_sibling, &b);
  cdt::unlink(&b);
  EXPECT_EQ(cdt::parent(&b1), nullptr);
}

TEST(Cdt, RevokeRemovesEveryDescendantButNotSiblings) {
  Capability root{}, keep{}, mid{}, leaf1{}, leaf2{}, deep{};
  for (Capability* k : {&root, &keep, &mid, &leaf1, &leaf2, &deep}) fill(*k);
  cdt::insert_child(nullptr, &root);
  cdt::insert_child(&root, &mid);
  cdt::insert_child(&root, &keep);  // sibling of the revoked cap: untouched
  cdt::insert_child(&mid, &leaf1);
  cdt::insert_child(&mid, &leaf2);
  cdt::insert_child(&leaf2, &deep);
  g_removed.clear();
  WorkBudget budget(100);
  EXPECT_TRUE(cdt::revoke(&mid, budget, remove_cap));
  EXPECT_EQ(g_removed.size(), 3u);
  EXPECT_EQ(budget.left(), 97u) << "one unit per capability removed";
  EXPECT_TRUE(leaf1.empty() && leaf2.empty() && deep.empty());
  EXPECT_EQ(mid.first_child, nullptr);
  EXPECT_EQ(children(&root), (std::vector<Capability*>{&mid, &keep}));
  expect_well_formed_children(&root);
}

// Revokes caps[0] in calls of `per_call` units and checks that every call
// spends at most its budget, that the units spent in total equal the
// capabilities removed (each unit is one constant-time step: the work is
// linear in what is removed, whatever the shape), and that every other slot
// ends empty.
void revoke_in_chunks(std::vector<Capability>& caps, uint32_t per_call, size_t expect_removed) {
  g_removed.clear();
  uint64_t units = 0, calls = 0;
  for (;;) {
    WorkBudget budget(per_call);
    bool done = cdt::revoke(&caps[0], budget, remove_cap);
    units += per_call - budget.left();
    ++calls;
    if (done) break;
    EXPECT_EQ(budget.left(), 0u) << "a call stops only when its budget is spent";
    expect_well_formed_children(&caps[0]);  // consistent when interrupted
  }
  EXPECT_EQ(units, expect_removed);
  EXPECT_EQ(g_removed.size(), expect_removed);
  EXPECT_EQ(calls, (expect_removed + per_call - 1) / per_call) << "no call without progress";
  for (size_t i = 1; i < caps.size(); ++i) ASSERT_TRUE(caps[i].empty()) << i;
  EXPECT_EQ(caps[0].first_child, nullptr);
  EXPECT_FALSE(caps[0].empty());
}

TEST(Cdt, DeepChainOf100kRevokesInLinearSteps) {
  constexpr size_t kN = 100001;
  std::vector<Capability> caps(kN);
  for (auto& c : caps) fill(c);
  cdt::insert_child(nullptr, &caps[0]);
  for (size_t i = 1; i < kN; ++i) cdt::insert_child(&caps[i - 1], &caps[i]);
  revoke_in_chunks(caps, 1000, kN - 1);
}

TEST(Cdt, FanOutOf100kRevokesInLinearSteps) {
  constexpr size_t kN = 100001;
  std::vector<Capability> caps(kN);
  for (auto& c : caps) fill(c);
  cdt::insert_child(nullptr, &caps[0]);
  for (size_t i = 1; i < kN; ++i) cdt::insert_child(&caps[0], &caps[i]);
  EXPECT_EQ(caps[0].first_child->prev_sibling, &caps[kN - 1]) << "the first child links the last";
  revoke_in_chunks(caps, 1024, kN - 1);
}

TEST(Cdt, DeletingANodeWith100kChildrenMovesThemUp) {
  constexpr size_t kN = 100002;
  std::vector<Capability> caps(kN);
  for (auto& c : caps) fill(c);
  cdt::insert_child(nullptr, &caps[0]);
  cdt::insert_child(&caps[0], &caps[1]);
  for (size_t i = 2; i < kN; ++i) cdt::insert_child(&caps[1], &caps[i]);
  cdt::unlink(&caps[1]);  // constant work: only the first child learns its new parent
  caps[1] = Capability{};
  EXPECT_EQ(caps[0].first_child, &caps[2]);
  EXPECT_EQ(caps[2].list_parent, &caps[0]);
  EXPECT_EQ(caps[kN - 1].next_sibling, &caps[2]);
  EXPECT_EQ(cdt::parent(&caps[kN / 2]), &caps[0]);
  revoke_in_chunks(caps, 777, kN - 2);  // the root's revoke reaches all of them
}

// A reference model of the tree: explicit parents and ordered child lists.
struct Model {
  static constexpr int kNone = -1;
  std::vector<int> parent;
  std::vector<std::vector<int>> kids;
  std::vector<bool> live;
  explicit Model(size_t n) : parent(n, kNone), kids(n), live(n, false) {}

  void insert(int p, int c) {
    live[c] = true;
    parent[c] = p;
    kids[c].clear();
    if (p != kNone) kids[p].push_back(c);
  }
  void unlink(int c) {
    int p = parent[c];
    for (int k : kids[c]) parent[k] = p;
    if (p != kNone) {
      auto& sib = kids[p];
      auto it = std::find(sib.begin(), sib.end(), c);
      it = sib.erase(it);
      sib.insert(it, kids[c].begin(), kids[c].end());
    }
    kids[c].clear();
    live[c] = false;
    parent[c] = kNone;
  }
  void subtree(int c, std::set<int>& out) const {
    for (int k : kids[c]) {
      out.insert(k);
      subtree(k, out);
    }
  }
};

// Compares the tree with the model: every live node's parent and ordered children.
void expect_matches(const std::vector<Capability>& caps, const Model& m) {
  auto index = [&](const Capability* c) { return c ? static_cast<int>(c - caps.data()) : Model::kNone; };
  for (size_t i = 0; i < caps.size(); ++i) {
    if (!m.live[i]) {
      ASSERT_TRUE(caps[i].empty()) << i;
      continue;
    }
    ASSERT_EQ(index(cdt::parent(&caps[i])), m.parent[i]) << "node " << i;
    std::vector<int> got;
    for (Capability* k : children(&caps[i])) got.push_back(index(k));
    ASSERT_EQ(got, m.kids[i]) << "children of " << i;
    expect_well_formed_children(&caps[i]);
  }
}

// Random trees under random inserts, deletes and revokes (whole, or cut into
// budget-sized calls with inserts and deletes between the calls), compared
// with the model after every operation.
TEST(Cdt, RandomTreesMatchAReferenceModel) {
  constexpr size_t kN = 600;
  cos::test::Rng rng(20240917);
  for (int round = 0; round < 20; ++round) {
    std::vector<Capability> caps(kN);
    Model m(kN);
    auto random_live = [&]() {
      for (;;) {  // the loop below keeps at least one node live
        int i = static_cast<int>(rng() % kN);
        if (m.live[i]) return i;
      }
    };
    auto random_free = [&]() -> int {
      for (int tries = 0; tries < 64; ++tries) {
        int i = static_cast<int>(rng() % kN);
        if (!m.live[i]) return i;
      }
      return Model::kNone;
    };
    auto insert = [&]() {
      int c = random_free();
      if (c == Model::kNone) return;
      bool any_live = std::find(m.live.begin(), m.live.end(), true) != m.live.end();
      int p = any_live && rng() % 8 != 0 ? random_live() : Model::kNone;  // some new roots
      fill(caps[c]);
      cdt::insert_child(p == Model::kNone ? nullptr : &caps[p], &caps[c]);
      m.insert(p, c);
    };
    auto remove = [&](int c) {
      cdt::unlink(&caps[c]);
      caps[c] = Capability{};
      m.unlink(c);
    };
    for (int i = 0; i < 400; ++i) insert();
    for (int step = 0; step < 300; ++step) {
      if (std::find(m.live.begin(), m.live.end(), true) == m.live.end()) insert();
      uint32_t op = rng() % 10;
      if (op < 5) {
        insert();
      } else if (op < 8) {
        remove(random_live());
      } else {
        int c = random_live();
        std::set<int> below;
        m.subtree(c, below);
        bool interleave = op == 9;
        g_removed.clear();
        uint64_t units = 0;
        for (;;) {
          uint32_t per_call = 1 + rng() % 40;
          WorkBudget budget(per_call);
          // The model removes c's first child each step, exactly like revoke.
          bool done = cdt::revoke(&caps[c], budget, remove_cap);
          units += per_call - budget.left();
          for (Capability* r : g_removed) m.unlink(static_cast<int>(r - caps.data()));
          g_removed.clear();
          expect_matches(caps, m);
          if (done) break;
          if (interleave) {  // others keep editing the tree between calls
            insert();
            int d = random_live();  // c is live
            if (d != c) remove(d);
          }
        }
        EXPECT_TRUE(caps[c].first_child == nullptr);
        if (!interleave) {
          EXPECT_EQ(units, below.size()) << "one unit per capability removed";
          for (int b : below) EXPECT_TRUE(caps[b].empty());
        }
      }
      expect_matches(caps, m);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
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
