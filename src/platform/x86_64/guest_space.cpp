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

// Frees every mapping and table below a guest table at `level`.
void teardown(uint64_t table_pa, unsigned level) {
  auto* e = x86::phys_to_virt<uint64_t>(table_pa);
  for (unsigned i = 0; i < 512; ++i) {
    if (!virt()->gpt_present(e[i])) continue;
    uint64_t pa = x86::pte::address(e[i]);
    e[i] = 0;
    if (level == 0) {
      frame_page_unmapped(pa);
    } else {
      teardown(pa, level - 1);
      pgtable_page_freed(pa);
    }
  }
}

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

void guest_space_teardown(uint64_t root) { teardown(root, 3); }

}  // namespace cos::platform
