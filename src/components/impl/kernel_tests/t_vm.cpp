// Guest-physical mappings (vm_map / vm_unmap), in particular 2 MiB guest
// pages (vm_map with kVmMapLarge): alignment, frame size and rights errors,
// removal by any address inside, the frame held while mapped and given back
// by vm_unmap or by deleting the VM, and the page-table pages a 2 GiB guest
// space needs with 4 KiB and with 2 MiB mappings (printed).
#include "kernel_tests/kt.hpp"

using namespace kt;

namespace {

constexpr uint64_t kLarge = cos::abi::kVmMapLarge;
constexpr uint64_t k2M = cos::abi::kLargePageBytes;
constexpr uint64_t kR = Rights::read, kRw = Rights::read | Rights::write;

/// A VM object, or 0 (and a failure) if the CPU has no virtualization.
uint64_t make_vm() {
  uint64_t vm = slot();
  if (!vm) return 0;
  int64_t r = sys::retype(env().ut, vm, ObjType::vm, 1);
  if (r != 0) {
    fail_eq("retype(vm)", __FILE__, __LINE__, r, 0);
    return 0;
  }
  return vm;
}

}  // namespace

KT_CASE(vm_map_large_maps_512_pages_with_one_entry) {
  uint64_t vm = make_vm(), f = make(ObjType::frame, 1024);
  KT_ASSERT(vm && f);
  // Frames of 512 pages or more start on a 2 MiB boundary when the untyped
  // has room: both halves of this one can be 2 MiB mappings.
  KT_OK(sys::vm_map(vm, 0x200000, f, 0, kRw | kLarge, env().ut));
  KT_OK(sys::vm_map(vm, 0x40000000, f, 512, kR | kLarge, env().ut));
  // Every 4 KiB page of the range is taken.
  KT_ERR(sys::vm_map(vm, 0x200000, f, 0, kR, env().ut), already_mapped);
  KT_ERR(sys::vm_map(vm, 0x3ff000, f, 0, kR, env().ut), already_mapped);
  KT_ERR(sys::vm_map(vm, 0x200000, f, 0, kR | kLarge, env().ut), already_mapped);
  // Its neighbours are free.
  KT_OK(sys::vm_map(vm, 0x400000, f, 0, kR, env().ut));
  KT_OK(sys::vm_map(vm, 0x1ff000, f, 0, kR, env().ut));
}

KT_CASE(vm_map_large_errors) {
  uint64_t vm = make_vm(), f = make(ObjType::frame, 1024), small = make(ObjType::frame, 511);
  KT_ASSERT(vm && f && small);
  KT_ERR(sys::vm_map(vm, 0x201000, f, 0, kR | kLarge, env().ut), bad_address);   // gpa not 2 MiB aligned
  KT_ERR(sys::vm_map(vm, 0x100000, f, 0, kR | kLarge, env().ut), bad_address);
  KT_ERR(sys::vm_map(vm, cos::abi::kGuestPhysTop, f, 0, kR | kLarge, env().ut), bad_address);
  KT_ERR(sys::vm_map(vm, 0x200000, f, 513, kR | kLarge, env().ut), bad_argument);  // 511 pages left
  KT_ERR(sys::vm_map(vm, 0x200000, f, 1024, kR | kLarge, env().ut), bad_argument); // beyond the frame
  KT_ERR(sys::vm_map(vm, 0x200000, small, 0, kR | kLarge, env().ut), bad_argument);
  KT_ERR(sys::vm_map(vm, 0x200000, f, 1, kR | kLarge, env().ut), unaligned);       // host pages off by 4 KiB
  KT_ERR(sys::vm_map(vm, 0x200000, f, 0, Rights::write | kLarge, env().ut), bad_argument);  // no read
  KT_ERR(sys::vm_map(vm, 0x200000, f, 0, kR | Rights::grant | kLarge, env().ut), bad_argument);
  // Rights the frame capability does not hold; a VM capability without write.
  uint64_t ro = copy(f, kR | Rights::grant), vm_ro = copy(vm, kR | Rights::grant);
  KT_ASSERT(ro && vm_ro);
  KT_ERR(sys::vm_map(vm, 0x200000, ro, 0, kRw | kLarge, env().ut), no_rights);
  KT_ERR(sys::vm_map(vm, 0x200000, ro, 0, kR | Rights::exec | kLarge, env().ut), no_rights);
  KT_ERR(sys::vm_map(vm_ro, 0x200000, f, 0, kR | kLarge, env().ut), no_rights);
  KT_ERR(sys::vm_map(vm, 0x200000, f, 0, kR | kLarge, f), wrong_type);  // table pages from a frame
  // None of those mapped anything; the read-only copy maps read-only.
  KT_OK(sys::vm_map(vm, 0x200000, ro, 0, kR | kLarge, env().ut));
  KT_EQ(sys::vm_unmap(vm, 0x200000), 512);
}

KT_CASE(vm_map_large_over_4k_mappings_or_their_table_is_already_mapped) {
  uint64_t vm = make_vm(), f = make(ObjType::frame, 512);
  KT_ASSERT(vm && f);
  KT_OK(sys::vm_map(vm, 0x600000 + 0x5000, f, 5, kR, env().ut));
  KT_ERR(sys::vm_map(vm, 0x600000, f, 0, kR | kLarge, env().ut), already_mapped);
  KT_EQ(sys::vm_unmap(vm, 0x600000 + 0x5000), 1);
  // The 4 KiB mappings' table stays: the 2 MiB range is still refused.
  KT_ERR(sys::vm_map(vm, 0x600000, f, 0, kR | kLarge, env().ut), already_mapped);
  KT_OK(sys::vm_map(vm, 0x800000, f, 0, kR | kLarge, env().ut));
}

KT_CASE(vm_unmap_inside_a_large_mapping_removes_all_of_it) {
  uint64_t vm = make_vm(), f = make(ObjType::frame, 512);
  KT_ASSERT(vm && f);
  KT_OK(sys::vm_map(vm, 0xc00000, f, 0, kRw | kLarge, env().ut));
  KT_EQ(sys::vm_unmap(vm, 0xc00000 + 0x1ff000), 512);  // the last page's address
  KT_ERR(sys::vm_unmap(vm, 0xc00000), not_mapped);
  KT_ERR(sys::vm_unmap(vm, 0xc00000 + 0x1000), not_mapped);
  // The range is free for 4 KiB pages, then the large entry is refused
  // because of their table.
  KT_OK(sys::vm_map(vm, 0xc00000 + 0x3000, f, 3, kR, env().ut));
  KT_EQ(sys::vm_unmap(vm, 0xc00000 + 0x3000), 1);
  KT_ERR(sys::vm_unmap(vm, 0xc00000 + 0x3000), not_mapped);
}

// The frame's memory is held by the 2 MiB mapping after its capability is
// gone, and given back to its untyped by vm_unmap (all 512 pages' map counts
// dropped), then again by deleting the VM (the guest space's teardown).
KT_CASE(vm_map_large_holds_the_frame_until_unmapped_or_the_vm_is_deleted) {
  constexpr uint64_t kPages = 1100;  // holds a 2 MiB-aligned run of 512 pages wherever it lies
  uint64_t u = make_untyped(kPages), vm = make_vm(), f = slot();
  KT_ASSERT(u && vm && f);
  KT_EQ(largest_run(u, kPages), kPages);
  KT_OK(sys::retype(u, f, ObjType::frame, 512));
  KT_OK(sys::vm_map(vm, 0, f, 0, kRw | kLarge, env().ut));
  KT_OK(sys::cap_delete(f));
  KT_CMP(largest_run(u, kPages), <=, kPages - 512);
  KT_EQ(sys::vm_unmap(vm, 0x145000), 512);  // an address inside
  KT_EQ(largest_run(u, kPages), kPages);

  KT_OK(sys::retype(u, f, ObjType::frame, 512));
  KT_OK(sys::vm_map(vm, 0x40000000, f, 0, kRw | kLarge, env().ut));
  KT_OK(sys::vm_map(vm, 0x40200000, f, 7, kR, env().ut));  // and a 4 KiB page of it
  KT_OK(sys::cap_delete(f));
  KT_CMP(largest_run(u, kPages), <=, kPages - 512);
  KT_OK(sys::cap_delete(vm));
  KT_EQ(largest_run(u, kPages), kPages);
}

// The page-table pages a 2 GiB guest space takes: 4-level EPT/NPT with 4 KiB
// leaves needs a PDPT, 2 PDs and 1024 page tables; with 2 MiB leaves only
// the PDPT and the 2 PDs. Measured as the pages the table untyped lost.
KT_CASE(vm_space_of_2gib_table_pages_4k_versus_2m) {
  constexpr uint64_t kTablePages = 1100, kGuest = 2ull << 30;
  uint64_t f = make(ObjType::frame, 512), t4 = make_untyped(kTablePages), t2 = make_untyped(kTablePages);
  uint64_t vm4 = make_vm(), vm2 = make_vm();
  KT_ASSERT(f && t4 && t2 && vm4 && vm2);
  for (uint64_t gpa = 0; gpa < kGuest; gpa += kPage)
    KT_OK(sys::vm_map(vm4, gpa, f, (gpa / kPage) % 512, kR, t4));
  for (uint64_t gpa = 0; gpa < kGuest; gpa += k2M) KT_OK(sys::vm_map(vm2, gpa, f, 0, kR | kLarge, t2));
  const uint64_t used4 = kTablePages - largest_run(t4, kTablePages);
  const uint64_t used2 = kTablePages - largest_run(t2, kTablePages);
  cos::printf("kernel_tests: a 2 GiB guest space takes %u table pages with 4 KiB mappings, %u with 2 MiB mappings\n",
              static_cast<unsigned>(used4), static_cast<unsigned>(used2));
  KT_EQ(used4, 1 + 2 + 1024);
  KT_EQ(used2, 1 + 2);
  KT_OK(sys::cap_delete(vm4));
  KT_OK(sys::cap_delete(vm2));
  KT_EQ(largest_run(t4, kTablePages), kTablePages);
  KT_EQ(largest_run(t2, kTablePages), kTablePages);
}
