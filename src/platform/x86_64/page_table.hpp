// Walks and edits a 4-level page table. Templated over how physical table
// pages are reached so the same code runs in the kernel (direct map) and in
// host unit tests (a fake physical memory).
//
// Mem must provide:
//   uint64_t* table(uint64_t pa);    // the 512 entries of the page at pa
//   bool alloc_table(uint64_t& pa);  // a zeroed page for a new table, false if none
// Enc gives the entry format (pte::Encoding for x86 paging; EPT and NPT
// backends have their own): table_entry(pa), is_present(e), is_large(e),
// target(e).
#pragma once
#include <stdint.h>

#include "x86_64/pte.hpp"

namespace cos::x86 {

/// Result codes of PageTable operations.
enum class MapResult { ok, no_memory, already_mapped, not_mapped, large_page };

template <typename Mem, typename Enc = pte::Encoding>
class PageTable {
 public:
  PageTable(Mem& mem, uint64_t root_pa) : mem_(mem), root_(root_pa) {}

  /// Installs the 4 KiB leaf entry `entry` for `va`, allocating missing
  /// intermediate tables. Fails with already_mapped if a leaf is present, or
  /// large_page if a 2 MiB/1 GiB mapping covers va.
  MapResult map(uint64_t va, uint64_t entry) {
    uint64_t* slot;
    MapResult r = leaf_slot(va, true, slot);
    if (r != MapResult::ok) return r;
    if (Enc::is_present(*slot)) return MapResult::already_mapped;
    *slot = entry;
    return MapResult::ok;
  }

  /// Clears the 4 KiB leaf for va; returns the old entry in `old`.
  MapResult unmap(uint64_t va, uint64_t& old) {
    uint64_t* slot;
    MapResult r = leaf_slot(va, false, slot);
    if (r != MapResult::ok) return r;
    if (!Enc::is_present(*slot)) return MapResult::not_mapped;
    old = *slot;
    *slot = 0;
    return MapResult::ok;
  }

  /// The leaf entry for va (0 if unmapped or behind a large page).
  uint64_t lookup(uint64_t va) {
    uint64_t* slot;
    if (leaf_slot(va, false, slot) != MapResult::ok) return 0;
    return *slot;
  }

 private:
  MapResult leaf_slot(uint64_t va, bool create, uint64_t*& out) {
    uint64_t table_pa = root_;
    for (unsigned level = pte::kLevels - 1; level > 0; --level) {
      uint64_t& e = mem_.table(table_pa)[pte::index(va, level)];
      if (!Enc::is_present(e)) {
        if (!create) return MapResult::not_mapped;
        uint64_t pa;
        if (!mem_.alloc_table(pa)) return MapResult::no_memory;
        e = Enc::table_entry(pa);
      } else if (Enc::is_large(e)) {
        return MapResult::large_page;
      }
      table_pa = Enc::target(e);
    }
    out = &mem_.table(table_pa)[pte::index(va, 0)];
    return MapResult::ok;
  }

  Mem& mem_;
  uint64_t root_;
};

}  // namespace cos::x86
