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
  static bool is_large(uint64_t) { return false; }  // never created
  static uint64_t target(uint64_t e) { return x86::pte::address(e); }
};

/// Everything a 4-level EPT/NPT can map (512 PML4 entries of 512 GiB): the
/// teardown walks all of it, whatever abi::kGuestPhysTop allows to be mapped.
constexpr uint64_t kGuestSpaceEnd = 1ull << 48;

}  // namespace

abi::Error map_guest_page(uint64_t root, uint64_t gpa, uint64_t pa, uint64_t rights, Untyped* ut) {
  x86::KernelMem mem{ut};
  x86::PageTable<x86::KernelMem, GuestEncoding> pt(mem, root);
  return x86::map_error(pt.map(gpa, virt()->gpt_leaf_entry(pa, rights)));
}

abi::Error unmap_guest_page(uint64_t root, uint64_t gpa, uint64_t& pa) {
  x86::KernelMem mem{nullptr};
  x86::PageTable<x86::KernelMem, GuestEncoding> pt(mem, root);
  uint64_t old;
  if (pt.unmap(gpa, old) != x86::MapResult::ok) return abi::Error::not_mapped;
  pa = x86::pte::address(old);
  return abi::Error::ok;
}

bool guest_space_teardown(uint64_t root, uint64_t& cursor, WorkBudget& budget) {
  x86::KernelMem mem{nullptr};
  x86::PageTable<x86::KernelMem, GuestEncoding> pt(mem, root);
  return pt.teardown(cursor, kGuestSpaceEnd, budget, frame_page_unmapped, pgtable_page_freed);
}

}  // namespace cos::platform
