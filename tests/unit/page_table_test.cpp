// Page-table entry encoding and the 4-level walker, on a fake physical memory.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <vector>

#include "x86_64/page_table.hpp"
#include "x86_64/pte.hpp"

namespace {

using namespace cos::x86;

struct FakeMem {
  std::map<uint64_t, std::vector<uint64_t>> pages;
  uint64_t next = 0x100000;
  int budget = 1000;
  uint64_t* table(uint64_t pa) {
    auto it = pages.find(pa);
    EXPECT_NE(it, pages.end()) << "walk reached unknown table " << std::hex << pa;
    return it->second.data();
  }
  bool alloc_table(uint64_t& pa) {
    if (budget-- <= 0) return false;
    pa = next;
    next += 0x1000;
    pages[pa].assign(512, 0);
    return true;
  }
};

TEST(Pte, IndicesFollowTheFourLevels) {
  uint64_t va = (3ull << 39) | (5ull << 30) | (7ull << 21) | (9ull << 12) | 0x123;
  EXPECT_EQ(pte::index(va, 3), 3u);
  EXPECT_EQ(pte::index(va, 2), 5u);
  EXPECT_EQ(pte::index(va, 1), 7u);
  EXPECT_EQ(pte::index(va, 0), 9u);
}

TEST(Pte, Canonical) {
  EXPECT_TRUE(pte::canonical(0x00007fffffffffffull));
  EXPECT_TRUE(pte::canonical(0xffff800000000000ull));
  EXPECT_FALSE(pte::canonical(0x0000800000000000ull));
  EXPECT_FALSE(pte::canonical(0xfff0000000000000ull));
}

TEST(Pte, UserPageEncodesRights) {
  uint64_t ro = pte::user_page(0x1234000, false, false);
  EXPECT_EQ(pte::address(ro), 0x1234000u);
  EXPECT_TRUE(pte::present(ro));
  EXPECT_TRUE(pte::user(ro));
  EXPECT_FALSE(pte::writable(ro));
  EXPECT_FALSE(pte::executable(ro));
  EXPECT_EQ(ro & pte::kNoExecute, pte::kNoExecute);

  uint64_t rwx = pte::user_page(0x5000, true, true);
  EXPECT_TRUE(pte::writable(rwx));
  EXPECT_TRUE(pte::executable(rwx));
  // Stray low bits of the address never leak into the flags.
  EXPECT_EQ(pte::address(pte::user_page(0x5fff, false, true)), 0x5000u);
}

TEST(Pte, TableEntriesAreUserWritable) {
  uint64_t t = pte::table(0xabc000);
  EXPECT_EQ(pte::address(t), 0xabc000u);
  EXPECT_TRUE(pte::present(t) && pte::writable(t) && pte::user(t) && pte::executable(t));
}

TEST(PageTable, MapLookupUnmap) {
  FakeMem mem;
  uint64_t root;
  ASSERT_TRUE(mem.alloc_table(root));
  PageTable<FakeMem> pt(mem, root);
  uint64_t va = 0x400000;
  EXPECT_EQ(pt.lookup(va), 0u);
  ASSERT_EQ(pt.map(va, pte::user_page(0x9000, true, false)), MapResult::ok);
  EXPECT_EQ(mem.pages.size(), 4u) << "root + PDPT + PD + PT";
  EXPECT_EQ(pte::address(pt.lookup(va)), 0x9000u);
  EXPECT_EQ(pt.map(va, pte::user_page(0xa000, true, false)), MapResult::already_mapped);
  // A neighbour shares the intermediate tables.
  ASSERT_EQ(pt.map(va + 0x1000, pte::user_page(0xa000, false, false)), MapResult::ok);
  EXPECT_EQ(mem.pages.size(), 4u);
  uint64_t old = 0;
  EXPECT_EQ(pt.unmap(va, old), MapResult::ok);
  EXPECT_EQ(pte::address(old), 0x9000u);
  EXPECT_EQ(pt.lookup(va), 0u);
  EXPECT_EQ(pt.unmap(va, old), MapResult::not_mapped);
  EXPECT_EQ(pt.unmap(0x7f0000000000ull, old), MapResult::not_mapped);
}

TEST(PageTable, OutOfTableMemory) {
  FakeMem mem;
  uint64_t root;
  ASSERT_TRUE(mem.alloc_table(root));
  mem.budget = 2;  // PDPT and PD, but no PT
  PageTable<FakeMem> pt(mem, root);
  EXPECT_EQ(pt.map(0x400000, pte::user_page(0x9000, true, false)), MapResult::no_memory);
  EXPECT_EQ(pt.lookup(0x400000), 0u);
}

TEST(PageTable, LargePagesAreNotSplit) {
  FakeMem mem;
  uint64_t root, pdpt;
  ASSERT_TRUE(mem.alloc_table(root));
  ASSERT_TRUE(mem.alloc_table(pdpt));
  mem.table(root)[0] = pte::table(pdpt);
  mem.table(pdpt)[0] = 0x0 | pte::kPresent | pte::kLargePage;  // 1 GiB page
  PageTable<FakeMem> pt(mem, root);
  EXPECT_EQ(pt.map(0x200000, pte::user_page(0x9000, true, false)), MapResult::large_page);
}

// 2 MiB leaves (map_large / unmap_any / teardown), as the guest spaces use them.
TEST(PageTable, LargeLeafMapUnmapAndConflicts) {
  FakeMem mem;
  uint64_t root;
  ASSERT_TRUE(mem.alloc_table(root));
  PageTable<FakeMem> pt(mem, root);
  const uint64_t big = 0x40000000 | pte::kPresent | pte::kLargePage;
  ASSERT_EQ(pt.map_large(0x200000, big, 1), MapResult::ok);
  EXPECT_EQ(mem.pages.size(), 3u) << "root, PDPT and PD: no page table for a 2 MiB leaf";
  EXPECT_EQ(pt.map_large(0x200000, big, 1), MapResult::already_mapped);
  EXPECT_EQ(pt.map(0x201000, pte::user_page(0x9000, true, false)), MapResult::large_page);
  // A 4 KiB mapping elsewhere in the PD makes a table there; a large leaf
  // over that table (even after the 4 KiB page is gone) is refused.
  ASSERT_EQ(pt.map(0x400000, pte::user_page(0x9000, true, false)), MapResult::ok);
  EXPECT_EQ(pt.map_large(0x400000, big, 1), MapResult::already_mapped);
  uint64_t old = 0;
  unsigned level = 9;
  ASSERT_EQ(pt.unmap_any(0x400000, old, level), MapResult::ok);
  EXPECT_EQ(level, 0u);
  EXPECT_EQ(pt.map_large(0x400000, big, 1), MapResult::already_mapped);
  // Any address inside the large leaf removes all of it.
  ASSERT_EQ(pt.unmap_any(0x3ff000, old, level), MapResult::ok);
  EXPECT_EQ(level, 1u);
  EXPECT_EQ(old, big);
  EXPECT_EQ(pt.unmap_any(0x200000, old, level), MapResult::not_mapped);
  EXPECT_EQ(pt.map_large(0x200000, big, 1), MapResult::ok) << "the PD entry is free again";
}

TEST(PageTable, TeardownReportsEveryPageOfALargeLeaf) {
  FakeMem mem;
  uint64_t root;
  ASSERT_TRUE(mem.alloc_table(root));
  PageTable<FakeMem> pt(mem, root);
  ASSERT_EQ(pt.map_large(0x600000, 0x80000000 | pte::kPresent | pte::kLargePage, 1), MapResult::ok);
  ASSERT_EQ(pt.map(0x1000, pte::user_page(0x9000, true, false)), MapResult::ok);
  std::map<uint64_t, int> leaves;
  int tables = 0;
  uint64_t cursor = 0;
  cos::WorkBudget budget(100000);
  ASSERT_TRUE(pt.teardown(cursor, 1ull << 39, budget, [&](uint64_t pa) { ++leaves[pa]; }, [&](uint64_t) { ++tables; }));
  ASSERT_EQ(leaves.size(), 513u);
  for (uint64_t i = 0; i < 512; ++i) EXPECT_EQ(leaves[0x80000000 + i * 4096], 1) << i;
  EXPECT_EQ(leaves[0x9000], 1);
  EXPECT_EQ(tables, 3) << "PDPT, PD and the one page table";
}

}  // namespace

// Teardown in budget-sized calls: every mapped page reported once, every
// table below the root freed once after its entries, the kernel half of the
// root untouched, and the cost linear in the table pages (each call at most
// its budget; 512 entries per table plus the walk back down per call).
TEST(PageTable, TeardownInStepsFreesEverythingOnce) {
  FakeMem mem;
  uint64_t root;
  ASSERT_TRUE(mem.alloc_table(root));
  mem.table(root)[300] = pte::table(0xdead000);  // a kernel-half entry: must stay
  PageTable<FakeMem> pt(mem, root);
  std::map<uint64_t, int> mapped;  // frame pa -> mappings
  auto map = [&](uint64_t va, uint64_t pa) {
    ASSERT_EQ(pt.map(va, pte::user_page(pa, true, false)), MapResult::ok);
    ++mapped[pa];
  };
  mem.budget = 100000;
  for (uint64_t i = 0; i < 1500; ++i) map(0x400000 + i * 0x1000, 0x10000000 + i * 0x1000);  // 3 PTs
  for (uint64_t i = 0; i < 40; ++i) map(0x7f0000000000ull + i * 0x200000, 0x20000000);  // one frame, 40 PTs
  map(0x1000, 0x30000000);
  const size_t tables = mem.pages.size() - 1;
  const uint64_t kEnd = 0x0000800000000000ull;  // the user half: root entries 0..255

  std::map<uint64_t, int> unmapped, freed;
  uint64_t cursor = 0, calls = 0, units = 0;
  for (;;) {
    cos::WorkBudget budget(200);
    bool done = pt.teardown(cursor, kEnd, budget, [&](uint64_t pa) { ++unmapped[pa]; },
                            [&](uint64_t pa) { ++freed[pa]; });
    units += 200 - budget.left();
    ++calls;
    if (done) break;
    EXPECT_EQ(budget.left(), 0u);
    ASSERT_LT(calls, 10000u) << "no progress";
  }
  EXPECT_EQ(unmapped, mapped);
  EXPECT_EQ(freed.size(), tables);
  for (auto& [pa, n] : freed) {
    EXPECT_EQ(n, 1) << std::hex << pa;
    EXPECT_NE(pa, root);
  }
  for (unsigned i = 0; i < 256; ++i) EXPECT_EQ(mem.table(root)[i], 0u) << i;
  EXPECT_EQ(mem.table(root)[300], pte::table(0xdead000));
  EXPECT_LE(units, 256 + 512 * (tables - 0) + 4 * calls);
  // Calling again finds nothing to do (looking at the 256 empty root entries).
  cos::WorkBudget budget(256);
  uint64_t again = 0;
  EXPECT_TRUE(pt.teardown(again, kEnd, budget, [&](uint64_t) { ADD_FAILURE(); }, [&](uint64_t) { ADD_FAILURE(); }));
}

// Small budgets still make progress: a call spends at most 4 units walking
// back down to where the last one stopped.
TEST(PageTable, TeardownWithTinyBudgetsProgresses) {
  FakeMem mem;
  uint64_t root;
  ASSERT_TRUE(mem.alloc_table(root));
  PageTable<FakeMem> pt(mem, root);
  ASSERT_EQ(pt.map(0x1000, pte::user_page(0x9000, true, false)), MapResult::ok);
  ASSERT_EQ(pt.map(0x40000000, pte::user_page(0xa000, true, false)), MapResult::ok);
  int leaves = 0, tables = 0;
  uint64_t cursor = 0, calls = 0;
  for (;;) {
    cos::WorkBudget budget(5);
    if (pt.teardown(cursor, 0x0000800000000000ull, budget, [&](uint64_t) { ++leaves; },
                    [&](uint64_t) { ++tables; }))
      break;
    ASSERT_LT(++calls, 100000u);
  }
  EXPECT_EQ(leaves, 2);
  EXPECT_EQ(tables, 5) << "PDPT, 2 PDs, 2 PTs";
}
// The kernel's own mappings (x86_64/kernel_paging.hpp).
#include "x86_64/kernel_paging.hpp"

namespace {

namespace pte = cos::x86::pte;

TEST(KernelPaging, ImageSectionsGetTheirRights) {
  const uint64_t base = cos::x86::kKernelVirtBase;
  const cos::x86::KernelImage img{base + 0x10a000, base + 0x11b000, base + 0x11b000,
                                  base + 0x11e000, base + 0x11e000, base + 0x145000};
  const uint64_t text = cos::x86::kernel_image_entry(img, base + 0x10a000);
  EXPECT_EQ(pte::address(text), 0x10a000u);
  EXPECT_TRUE(pte::present(text));
  EXPECT_FALSE(pte::writable(text));
  EXPECT_TRUE(pte::executable(text));
  EXPECT_FALSE(pte::user(text));
  const uint64_t ro = cos::x86::kernel_image_entry(img, base + 0x11d000);
  EXPECT_FALSE(pte::writable(ro));
  EXPECT_FALSE(pte::executable(ro));
  const uint64_t data = cos::x86::kernel_image_entry(img, base + 0x144000);
  EXPECT_TRUE(pte::writable(data));
  EXPECT_FALSE(pte::executable(data));
  EXPECT_EQ(cos::x86::kernel_image_entry(img, base + 0x145000), 0u) << "past the image: unmapped";
  EXPECT_EQ(cos::x86::kernel_image_entry(img, base + 0x100000), 0u) << "boot code: unmapped";
  // The direct map: writable, never executable, MMIO uncached.
  const uint64_t ram = cos::x86::direct_map_entry(1ull << 21);
  EXPECT_TRUE(pte::writable(ram));
  EXPECT_FALSE(pte::executable(ram));
  EXPECT_EQ(ram & pte::kCacheDisable, 0u);
  EXPECT_NE(cos::x86::direct_map_entry(0xfee00000ull & ~((1ull << 21) - 1)) & pte::kCacheDisable, 0u);
}

struct TableMem {
  std::map<uint64_t, std::array<uint64_t, 512>> t;
  uint64_t* table(uint64_t pa) { return t[pa].data(); }
};

TEST(KernelPaging, WritableExecutableMappingsAreCounted) {
  TableMem mem;
  const uint64_t root = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x4000;
  mem.table(root)[511] = pdpt | pte::kPresent | pte::kWritable;
  mem.table(pdpt)[510] = pd | pte::kPresent | pte::kWritable;
  mem.table(pd)[0] = pt | pte::kPresent | pte::kWritable;
  mem.table(pt)[1] = 0x5000 | pte::kPresent;                                    // RX
  mem.table(pt)[2] = 0x6000 | pte::kPresent | pte::kWritable | pte::kNoExecute;  // RW
  mem.table(root)[0] = 0x9000 | pte::kPresent | pte::kWritable;  // the user half is not looked at
  EXPECT_EQ(cos::x86::count_writable_executable(mem, root), 0u);
  mem.table(pt)[3] = 0x7000 | pte::kPresent | pte::kWritable;  // RWX
  mem.table(pd)[1] = 0x200000 | pte::kPresent | pte::kWritable | pte::kLargePage;  // RWX, 2 MiB
  EXPECT_EQ(cos::x86::count_writable_executable(mem, root), 2u);
}

}  // namespace
