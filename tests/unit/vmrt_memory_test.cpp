// vmrt: error type, slot allocator and guest-memory table
// (src/components/lib/vmrt/{error,slots,guest_memory}.*).
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "cos/abi.hpp"
#include "vmrt/error.hpp"
#include "vmrt/slots.hpp"
#include "unit/vmrt_test_util.hpp"

namespace {

using vmrt::Errc;
using vmrt_test::HostGuestMemory;

// ---------------------------------------------------------------- Error / Result

TEST(VmrtError, ResultCarriesValueOrError) {
  vmrt::Result<int> ok(42);
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.value(), 42);
  EXPECT_EQ(ok.error().code, Errc::ok);
  vmrt::Result<int> bad(vmrt::make_error(Errc::not_ram, "x", 0x1000));
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::not_ram);
  EXPECT_EQ(bad.error().addr, 0x1000u);
  EXPECT_EQ(bad.value_or(7), 7);
  vmrt::Status s;
  EXPECT_TRUE(s.ok());
}

vmrt::Status fails() { return vmrt::make_error(Errc::bad_argument, "inner"); }
vmrt::Result<int> propagates() {
  VMRT_TRY(fails());
  return 1;
}

TEST(VmrtError, TryPropagates) {
  auto r = propagates();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::bad_argument);
  EXPECT_STREQ(r.error().what, "inner");
}

TEST(VmrtError, FormatsSyscallErrorsWithKernelNames) {
  char buf[128];
  vmrt::Error e = vmrt::sys_error("vm_map", static_cast<int64_t>(cos::abi::Error::already_mapped), 0x1000);
  e.format(buf, sizeof(buf));
  EXPECT_EQ(std::string(buf), "vm_map failed: already_mapped (error -9) at 0x1000");
  EXPECT_STREQ(vmrt::abi_error_name(-23), "bad_guest_state");
  EXPECT_STREQ(vmrt::abi_error_name(-1000), "unknown");
  EXPECT_STREQ(vmrt::abi_error_name(5), "unknown");
  EXPECT_STREQ(vmrt::errc_name(Errc::page_fault), "page_fault");
  vmrt::make_error(Errc::page_fault, "walk", 0xdead000, 3).format(buf, sizeof(buf));
  EXPECT_NE(std::string(buf).find("0xdead000"), std::string::npos);
  EXPECT_NE(std::string(buf).find("0x3"), std::string::npos);
}

TEST(VmrtError, FormatTruncatesSafely) {
  char buf[8];
  size_t n = vmrt::sys_error("vcpu_run", -23).format(buf, sizeof(buf));
  EXPECT_GT(n, sizeof(buf));
  EXPECT_EQ(std::strlen(buf), sizeof(buf) - 1);
}

// ---------------------------------------------------------------- SlotAllocator

TEST(VmrtSlots, LowestFirstReuseAndExhaustion) {
  vmrt::SlotAllocator a;
  a.init(10, 13);
  EXPECT_EQ(a.available(), 3u);
  EXPECT_EQ(a.alloc().value(), 10u);
  EXPECT_EQ(a.alloc().value(), 11u);
  EXPECT_EQ(a.alloc().value(), 12u);
  auto none = a.alloc();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::out_of_slots);
  a.free(11);
  a.free(99);  // ignored
  EXPECT_EQ(a.available(), 1u);
  EXPECT_EQ(a.alloc().value(), 11u);
}

TEST(VmrtSlots, SlotZeroIsNeverHandedOut) {
  vmrt::SlotAllocator a;
  a.init(0, 3);
  EXPECT_EQ(a.alloc().value(), 1u);
  EXPECT_EQ(a.alloc().value(), 2u);
  EXPECT_FALSE(a.alloc().ok());
}

TEST(VmrtSlots, RangeIsClamped) {
  vmrt::SlotAllocator a;
  a.init(5, 5 + 2 * vmrt::SlotAllocator::kMaxSlots);
  EXPECT_EQ(a.available(), vmrt::SlotAllocator::kMaxSlots);
  a.init(9, 3);
  EXPECT_EQ(a.available(), 0u);
}

// ---------------------------------------------------------------- GuestMemory

TEST(VmrtGuestMemory, RegionsAreSortedAndFound) {
  HostGuestMemory g;
  uint8_t* hi = g.add(0x100000, 0x2000);
  uint8_t* lo = g.add(0, 0x1000);
  ASSERT_TRUE(hi && lo);
  ASSERT_EQ(g.mem.region_count(), 2u);
  EXPECT_EQ(g.mem.region(0).gpa, 0u);
  EXPECT_EQ(g.mem.region(1).gpa, 0x100000u);
  EXPECT_EQ(g.mem.find(0xfff)->host, lo);
  EXPECT_EQ(g.mem.find(0x1000), nullptr);
  EXPECT_EQ(g.mem.find(0x101fff)->host, hi);
  EXPECT_EQ(g.mem.find(0x102000), nullptr);
  EXPECT_EQ(g.mem.total_bytes(), 0x3000u);
}

TEST(VmrtGuestMemory, RejectsBadAndOverlappingRegions) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0x10000, 0x4000));
  uint8_t dummy[8];
  EXPECT_EQ(g.mem.add_region(0x1001, 0x1000, dummy, 7).error().code, Errc::bad_argument);
  EXPECT_EQ(g.mem.add_region(0x1000, 0x10, dummy, 7).error().code, Errc::bad_argument);
  EXPECT_EQ(g.mem.add_region(0x1000, 0, dummy, 7).error().code, Errc::bad_argument);
  EXPECT_EQ(g.mem.add_region(0x1000, 0x1000, nullptr, 7).error().code, Errc::bad_argument);
  EXPECT_EQ(g.mem.add_region(0xfffffffffffff000ull, 0x2000, dummy, 7).error().code, Errc::bad_argument);
  EXPECT_EQ(g.mem.add_region(0xf000, 0x2000, dummy, 7).error().code, Errc::region_overlap);
  EXPECT_EQ(g.mem.add_region(0x13000, 0x1000, dummy, 7).error().code, Errc::region_overlap);
  EXPECT_EQ(g.mem.add_region(0x8000, 0x20000, dummy, 7).error().code, Errc::region_overlap);
  EXPECT_TRUE(g.mem.add_region(0x14000, 0x1000, dummy, 7).ok());  // touching is fine
  EXPECT_TRUE(g.mem.add_region(0xf000, 0x1000, dummy, 7).ok());
}

TEST(VmrtGuestMemory, TableFull) {
  HostGuestMemory g;
  for (unsigned i = 0; i < vmrt::GuestMemory::kMaxRegions; ++i) ASSERT_TRUE(g.add(i * 0x2000ull, 0x1000));
  uint8_t dummy[8];
  EXPECT_EQ(g.mem.add_region(0x100000, 0x1000, dummy, 7).error().code, Errc::too_many_regions);
}

TEST(VmrtGuestMemory, CopiesSpanAdjacentRegions) {
  HostGuestMemory g;
  uint8_t* a = g.add(0, 0x1000);
  uint8_t* b = g.add(0x1000, 0x1000);
  ASSERT_TRUE(a && b);
  const char msg[] = "across the boundary";
  ASSERT_TRUE(g.mem.write(0xff8, msg, sizeof(msg)).ok());
  EXPECT_EQ(std::memcmp(a + 0xff8, msg, 8), 0);
  EXPECT_EQ(std::memcmp(b, msg + 8, sizeof(msg) - 8), 0);
  char back[sizeof(msg)] = {};
  ASSERT_TRUE(g.mem.read(0xff8, back, sizeof(back)).ok());
  EXPECT_STREQ(back, msg);
  EXPECT_TRUE(g.mem.contains(0, 0x2000));
  EXPECT_FALSE(g.mem.contains(0, 0x2001));
  // host_ptr only within one region.
  EXPECT_EQ(g.mem.host_ptr(0xff8, 8).value(), a + 0xff8);
  auto cross = g.mem.host_ptr(0xff8, 9);
  ASSERT_FALSE(cross.ok());
  EXPECT_EQ(cross.error().code, Errc::not_ram);
  EXPECT_EQ(cross.error().addr, 0x1000u);
}

TEST(VmrtGuestMemory, HolesAreNotRamAndNothingIsCopied) {
  HostGuestMemory g;
  uint8_t* a = g.add(0, 0x1000);
  ASSERT_TRUE(g.add(0x3000, 0x1000));
  uint8_t buf[0x100];
  std::memset(buf, 0xaa, sizeof(buf));
  auto w = g.mem.write(0xf80, buf, sizeof(buf));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, Errc::not_ram);
  EXPECT_EQ(w.error().addr, 0x1000u);  // the first address that is not RAM
  EXPECT_EQ(a[0xf80], 0);              // nothing written
  auto r = g.mem.read(0x2000, buf, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().addr, 0x2000u);
  EXPECT_FALSE(g.mem.read(0xfffffffffffffff0ull, buf, 0x20).ok());  // wraps
}

TEST(VmrtGuestMemory, FillAndTypedAccess) {
  HostGuestMemory g;
  uint8_t* a = g.add(0x4000, 0x2000);
  ASSERT_TRUE(a);
  ASSERT_TRUE(g.mem.fill(0x4ffe, 0x5a, 4).ok());
  EXPECT_EQ(a[0xffe], 0x5a);
  EXPECT_EQ(a[0x1001], 0x5a);
  EXPECT_EQ(a[0x1002], 0);
  ASSERT_TRUE(g.mem.write_obj<uint64_t>(0x4ffc, 0x1122334455667788ull).ok());
  EXPECT_EQ(g.mem.read_obj<uint64_t>(0x4ffc).value(), 0x1122334455667788ull);
  EXPECT_EQ(g.mem.read_obj<uint32_t>(0x6000).error().code, Errc::not_ram);
  EXPECT_FALSE(g.mem.fill(0x5000, 0, 0x2000).ok());
}

TEST(VmrtGuestMemory, RemoveRegion) {
  HostGuestMemory g;
  ASSERT_TRUE(g.add(0, 0x1000));
  ASSERT_TRUE(g.add(0x2000, 0x1000));
  EXPECT_EQ(g.mem.remove_region(0x800).error().code, Errc::not_ram);
  EXPECT_TRUE(g.mem.remove_region(0).ok());
  EXPECT_EQ(g.mem.region_count(), 1u);
  EXPECT_EQ(g.mem.find(0x10), nullptr);
  EXPECT_NE(g.mem.find(0x2010), nullptr);
}

}  // namespace
