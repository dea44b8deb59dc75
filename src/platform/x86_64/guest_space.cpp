// Guest-physical address spaces: EPT (VMX) or NPT (SVM) tables in the
// active backend's entry format, built like user page tables.
#include "kernel/kernel.hpp"
#include "kernel/platform.hpp"
#include "x86_64/address_space.hpp"
#include "x86_64/layout.hpp"
#include "x86_64/page_table.hpp"

namespace cos::platform {
namespace {

/// The active backend's EPT/NPT entry format for PageTable<>.
struct GuestEncoding {
  static uint64_t table_entry(uint64_t pa) { return virt()->gpt_table_entry(pa); }
  static bool is_present(uint64_t e) { return virt()->gpt_present(e); }
  /// Bit 7 of a PDE/PDPTE makes it a large leaf in both formats (NPT: the
  /// long-mode PS bit, AMD APM Vol. 2, 15.25.5; EPT: SDM Vol. 3C, 29.3.2).
  static bool is_large(uint64_t e) { return (e & x86::pte::kLargePage) != 0; }
  static uint64_t target(uint64_t e) { return x86::pte::address(e); }
};

/// Everything a 4-level EPT/NPT can map (512 PML4 entries of 512 GiB): the
/// teardown walks all of it, whatever abi::kGuestPhysTop allows to be mapped.
constexpr uint64_t kGuestSpaceEnd = 1ull << 48;

}  // namespace

abi::Error map_guest_page(uint64_t root, uint64_t gpa, uint64_t pa, uint64_t rights, Untyped* ut) {
  x86::KernelMem mem{ut};
  x86::PageTable<x86::KernelMem, GuestEncoding> pt(mem, root);
  const x86::MapResult r = pt.map(gpa, virt()->gpt_leaf_entry(pa, rights, 0));
  return r == x86::MapResult::large_page ? abi::Error::already_mapped : x86::map_error(r);  // inside a 2 MiB mapping
}

abi::Error map_guest_large(uint64_t root, uint64_t gpa, uint64_t pa, uint64_t rights, Untyped* ut) {
  const uint64_t entry = virt()->gpt_leaf_entry(pa, rights, 1);
  if (entry == 0) return abi::Error::unaligned;  // the CPU has no 2 MiB guest pages
  x86::KernelMem mem{ut};
  x86::PageTable<x86::KernelMem, GuestEncoding> pt(mem, root);
  return x86::map_error(pt.map_large(gpa, entry, 1));
}

abi::Error unmap_guest_page(uint64_t root, uint64_t gpa, uint64_t& pa, uint64_t& pages) {
  x86::KernelMem mem{nullptr};
  x86::PageTable<x86::KernelMem, GuestEncoding> pt(mem, root);
  uint64_t old;
  unsigned level;
  if (pt.unmap_any(gpa, old, level) != x86::MapResult::ok) return abi::Error::not_mapped;
  pa = x86::pte::address(old);
  pages = 1ull << (9 * level);
  return abi::Error::ok;
}

bool guest_space_teardown(uint64_t root, uint64_t& cursor, WorkBudget& budget) {
  x86::KernelMem mem{nullptr};
  x86::PageTable<x86::KernelMem, GuestEncoding> pt(mem, root);
  return pt.teardown(cursor, kGuestSpaceEnd, budget, frame_page_unmapped, pgtable_page_freed);
}

}  // namespace cos::platform
