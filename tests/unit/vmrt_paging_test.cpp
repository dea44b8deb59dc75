// vmrt: guest page walk in every paging mode and the 4-level page-table
// builder (src/components/lib/vmrt/paging.*).
#include <gtest/gtest.h>

#include "vmrt/paging.hpp"
#include "unit/vmrt_test_util.hpp"

namespace {

using vmrt::Errc;
using vmrt::PagingMode;
using vmrt::PagingRegs;
using vmrt_test::HostGuestMemory;
namespace vm = cos::vm;

constexpr uint64_t P = vmrt::kPtePresent, W = vmrt::kPteWrite, U = vmrt::kPteUser, PS = vmrt::kPteLarge,
                   NX = vmrt::kPteNx;

PagingRegs long_mode(uint64_t cr3, bool wp = true, bool nxe = true) {
  return PagingRegs{vmrt::kCr0Pe | vmrt::kCr0Pg | (wp ? vmrt::kCr0Wp : 0), cr3, vmrt::kCr4Pae,
                    vmrt::kEferLme | vmrt::kEferLma | (nxe ? vmrt::kEferNxe : 0)};
}

TEST(VmrtPaging, ModeFromControlRegisters) {
  EXPECT_EQ(vmrt::paging_mode({0x11, 0, 0, 0}), PagingMode::off);
  EXPECT_EQ(vmrt::paging_mode({vmrt::kCr0Pe, 0, vmrt::kCr4Pae, vmrt::kEferLme}), PagingMode::off);
  EXPECT_EQ(vmrt::paging_mode({vmrt::kCr0Pe | vmrt::kCr0Pg, 0, 0, 0}), PagingMode::legacy32);
  EXPECT_EQ(vmrt::paging_mode({vmrt::kCr0Pe | vmrt::kCr0Pg, 0, vmrt::kCr4Pse, 0}), PagingMode::legacy32);
  EXPECT_EQ(vmrt::paging_mode({vmrt::kCr0Pe | vmrt::kCr0Pg, 0, vmrt::kCr4Pae, 0}), PagingMode::pae);
  EXPECT_EQ(vmrt::paging_mode(long_mode(0)), PagingMode::level4);
  PagingRegs la57 = long_mode(0);
  la57.cr4 |= vmrt::kCr4La57;
  EXPECT_EQ(vmrt::paging_mode(la57), PagingMode::level5);
  EXPECT_STREQ(vmrt::paging_mode_name(PagingMode::pae), "pae");
}

TEST(VmrtPaging, PagingOffIsIdentityTruncatedTo32Bits) {
  HostGuestMemory g;
  auto t = vmrt::translate(g.mem, PagingRegs{0x10, 0, 0, 0}, 0x1'0001'2345ull);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().gpa, 0x12345u);
  EXPECT_EQ(t.value().mode, PagingMode::off);
  EXPECT_TRUE(t.value().writable && t.value().user && t.value().executable);
}

TEST(VmrtPaging, Legacy32FourKAndFourMPages) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x10000));
  // PD at 0x1000, PT at 0x2000.
  ASSERT_TRUE(g.mem.write_obj<uint32_t>(0x1000 + 1 * 4, 0x2000 | P | W | U).ok());  // 4M..8M -> PT
  ASSERT_TRUE(g.mem.write_obj<uint32_t>(0x2000 + 3 * 4, 0x7000 | P | U).ok());      // 4M+12K -> 0x7000 (read-only)
  // 4 MiB page at 8M..12M -> physical 0x1'0040'0000 (PSE-36 bits 39:32 = 1) | 0x400000.
  ASSERT_TRUE(g.mem.write_obj<uint32_t>(0x1000 + 2 * 4, 0x00400000 | (1u << 13) | P | W | PS).ok());
  PagingRegs r{vmrt::kCr0Pe | vmrt::kCr0Pg | vmrt::kCr0Wp, 0x1000, vmrt::kCr4Pse, 0};

  auto t = vmrt::translate(g.mem, r, 0x403abc);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().gpa, 0x7abcu);
  EXPECT_EQ(t.value().page_size, 4096u);
  EXPECT_FALSE(t.value().writable);
  EXPECT_TRUE(t.value().user);

  auto big = vmrt::translate(g.mem, r, 0x812345);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big.value().gpa, 0x1'0041'2345ull);
  EXPECT_EQ(big.value().page_size, 4u << 20);
  EXPECT_FALSE(big.value().user);

  // Write to the read-only page with CR0.WP: a protection fault.
  auto ro = vmrt::translate(g.mem, r, 0x403000, vm::kAccessWrite);
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(ro.error().code, Errc::page_fault);
  EXPECT_EQ(ro.error().detail, vmrt::kPfPresent | vmrt::kPfWrite);
  // Without CR0.WP a supervisor write is allowed.
  r.cr0 &= ~vmrt::kCr0Wp;
  EXPECT_TRUE(vmrt::translate(g.mem, r, 0x403000, vm::kAccessWrite).ok());
  // Not present PTE and PDE.
  auto np = vmrt::translate(g.mem, r, 0x404000);
  ASSERT_FALSE(np.ok());
  EXPECT_EQ(np.error().detail, 0u);
  EXPECT_EQ(np.error().addr, 0x404000u);
  EXPECT_FALSE(vmrt::translate(g.mem, r, 0xc00000).ok());
  // User access to the supervisor 4M page.
  auto us = vmrt::translate(g.mem, r, 0x800000, vmrt::kAccessUser);
  ASSERT_FALSE(us.ok());
  EXPECT_EQ(us.error().detail, vmrt::kPfPresent | vmrt::kPfUser);
  // Without CR4.PSE the PS bit is ignored: the entry points at a page table.
  r.cr4 = 0;
  auto nopse = vmrt::translate(g.mem, r, 0x800000);
  ASSERT_FALSE(nopse.ok());  // the "table" at 0x400000 is not RAM
  EXPECT_EQ(nopse.error().code, Errc::not_ram);
}

TEST(VmrtPaging, PaeThreeLevels) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x10000));
  // PDPT at 0x1020 (32-byte aligned), PD at 0x2000, PT at 0x3000.
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x1020 + 3 * 8, 0x2000 | P).ok());           // 3G..4G
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x2000 + 5 * 8, 0x3000 | P | W).ok());       // +10M -> PT
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x3000 + 1 * 8, 0x9000 | P | W | NX).ok());  // +10M+4K
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x2000 + 6 * 8, 0x40000000 | P | PS).ok());  // +12M: 2M page
  PagingRegs r{vmrt::kCr0Pe | vmrt::kCr0Pg, 0x1020, vmrt::kCr4Pae, vmrt::kEferNxe};
  const uint64_t base = 0xc0000000ull;

  auto t = vmrt::translate(g.mem, r, base + 0xa01234);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().gpa, 0x9234u);
  EXPECT_EQ(t.value().mode, PagingMode::pae);
  EXPECT_FALSE(t.value().executable);
  auto x = vmrt::translate(g.mem, r, base + 0xa01234, vm::kAccessExec);
  ASSERT_FALSE(x.ok());
  EXPECT_EQ(x.error().detail, vmrt::kPfPresent | vmrt::kPfFetch);

  auto big = vmrt::translate(g.mem, r, base + 0xc12345);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big.value().gpa, 0x40012345u);
  EXPECT_EQ(big.value().page_size, 2u << 20);

  // PDPTE 0 not present.
  auto np = vmrt::translate(g.mem, r, 0x1000, vm::kAccessExec);
  ASSERT_FALSE(np.ok());
  EXPECT_EQ(np.error().detail, vmrt::kPfFetch);
}

TEST(VmrtPaging, FourLevelHandBuiltWithOneGigPage) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x10000));
  // PML4 0x1000 -> PDPT 0x2000; PDPT[2] = 1 GiB page at 0x1'4000'0000.
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x1000, 0x2000 | P | W | U).ok());
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x2000 + 2 * 8, 0x1'4000'0000ull | P | W | U | PS).ok());
  auto t = vmrt::translate(g.mem, long_mode(0x1000), 0x8765'4321ull, vm::kAccessWrite | vmrt::kAccessUser);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().gpa, 0x1'4000'0000ull + 0x0765'4321ull);
  EXPECT_EQ(t.value().page_size, 1ull << 30);
  EXPECT_TRUE(t.value().user && t.value().writable && t.value().executable);
}

TEST(VmrtPaging, FiveLevel) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x10000));
  // gva = 1 << 48 (PML5 index 1) -> 0x8000.
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x1000 + 8, 0x2000 | P | W).ok());
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x2000, 0x3000 | P | W).ok());
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x3000, 0x4000 | P | W).ok());
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x4000, 0x5000 | P | W).ok());
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x5000, 0x8000 | P | W).ok());
  PagingRegs r = long_mode(0x1000);
  r.cr4 |= vmrt::kCr4La57;
  auto t = vmrt::translate(g.mem, r, (1ull << 48) | 0x123);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().gpa, 0x8123u);
  EXPECT_EQ(t.value().mode, PagingMode::level5);
  // (1 << 48) is not canonical with 4 levels.
  EXPECT_EQ(vmrt::translate(g.mem, long_mode(0x1000), 1ull << 48).error().code, Errc::non_canonical);
  EXPECT_EQ(vmrt::translate(g.mem, r, 1ull << 57).error().code, Errc::non_canonical);
}

TEST(VmrtPaging, TablesOutsideRamAreReported) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x2000));
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x1000, 0x500000 | P | W).ok());
  auto t = vmrt::translate(g.mem, long_mode(0x1000), 0x1000);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Errc::not_ram);
  EXPECT_EQ(t.error().addr, 0x500000u);
  EXPECT_EQ(vmrt::translate(g.mem, long_mode(0x9000), 0).error().code, Errc::not_ram);
}

TEST(VmrtPageTableBuilder, IdentityMapWithTwoMegPages) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x100000));
  auto cr3 = vmrt::build_identity_map(g.mem, 0x10000, 0x10000, 2ull << 30);
  ASSERT_TRUE(cr3.ok());
  EXPECT_EQ(cr3.value(), 0x10000u);
  for (uint64_t va : {0x0ull, 0x1234ull, 0x1f'ffffull, 0x2345'6789ull, 0x7fff'ffffull}) {
    auto t = vmrt::translate(g.mem, long_mode(cr3.value()), va, vm::kAccessWrite | vm::kAccessExec);
    ASSERT_TRUE(t.ok()) << std::hex << va;
    EXPECT_EQ(t.value().gpa, va);
    EXPECT_EQ(t.value().page_size, 2u << 20);
    EXPECT_FALSE(t.value().user);
  }
  auto beyond = vmrt::translate(g.mem, long_mode(cr3.value()), 0x8000'0000ull);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, Errc::page_fault);
  // PML4 + PDPT + 2 PDs.
  vmrt::PageTableBuilder b(g.mem, 0x40000, 0x10000);
  ASSERT_TRUE(b.map(0, 0, 2ull << 30).ok());
  EXPECT_EQ(b.pool_used(), 4u * 4096);
}

TEST(VmrtPageTableBuilder, FourKMappingsFlagsAndHigherHalf) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x100000));
  vmrt::PageTableBuilder b(g.mem, 0x20000, 0x8000);
  const uint64_t kernel_va = 0xffff'8000'0000'1000ull;
  ASSERT_TRUE(b.map(kernel_va, 0x5000, 0x2000, vmrt::kPteNx).ok());  // read-only, no-exec
  ASSERT_TRUE(b.map(0x40'0000, 0x6000, 0x1000, vmrt::kPteWrite | vmrt::kPteUser).ok());
  uint64_t cr3 = b.root().value();
  auto t = vmrt::translate(g.mem, long_mode(cr3), kernel_va + 0x1010);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.value().gpa, 0x6010u);
  EXPECT_EQ(t.value().page_size, 4096u);
  EXPECT_FALSE(t.value().writable);
  EXPECT_FALSE(t.value().executable);
  EXPECT_EQ(vmrt::translate(g.mem, long_mode(cr3), kernel_va, vm::kAccessWrite).error().detail,
            vmrt::kPfPresent | vmrt::kPfWrite);
  EXPECT_EQ(vmrt::translate(g.mem, long_mode(cr3), kernel_va, vm::kAccessExec).error().detail,
            vmrt::kPfPresent | vmrt::kPfFetch);
  EXPECT_EQ(vmrt::translate(g.mem, long_mode(cr3), kernel_va, vmrt::kAccessUser).error().detail,
            vmrt::kPfPresent | vmrt::kPfUser);
  auto user = vmrt::translate(g.mem, long_mode(cr3), 0x40'0abc, vm::kAccessWrite | vmrt::kAccessUser);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user.value().gpa, 0x6abcu);
  // Remapping a page replaces it.
  ASSERT_TRUE(b.map(0x40'0000, 0x7000, 0x1000).ok());
  EXPECT_EQ(vmrt::translate(g.mem, long_mode(cr3), 0x40'0000).value().gpa, 0x7000u);
  // Without EFER.NXE the NX bit does not stop fetches.
  EXPECT_TRUE(vmrt::translate(g.mem, long_mode(cr3, true, false), kernel_va, vm::kAccessExec).ok());
}

TEST(VmrtPageTableBuilder, Errors) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x100000));
  vmrt::PageTableBuilder b(g.mem, 0x20000, 0x3000);  // PML4 + PDPT + PD only
  EXPECT_EQ(b.map(0x1001, 0, 0x1000).error().code, Errc::bad_argument);
  EXPECT_EQ(b.map(0, 0x10, 0x1000).error().code, Errc::bad_argument);
  EXPECT_EQ(b.map(0, 0, 0).error().code, Errc::bad_argument);
  EXPECT_EQ(b.map(0x0000'8000'0000'0000ull, 0, 0x1000).error().code, Errc::bad_argument);  // non-canonical
  EXPECT_EQ(b.map(0x0000'7fff'ffff'f000ull, 0, 0x2000).error().code, Errc::bad_argument);  // runs off the half
  ASSERT_TRUE(b.map(0, 0, 2u << 20).ok());
  // A 4 KiB page inside the 2 MiB one.
  EXPECT_EQ(b.map(0x1000, 0x1000, 0x1000).error().code, Errc::bad_argument);
  // A page table is needed but the pool is empty.
  auto full = b.map(0x20'0000, 0, 0x1000);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code, Errc::no_memory);
  // A pool outside RAM.
  vmrt::PageTableBuilder outside(g.mem, 0x200000, 0x4000);
  EXPECT_EQ(outside.root().error().code, Errc::not_ram);
}

}  // namespace
