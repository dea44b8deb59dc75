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

#include "kernel/work_budget.hpp"
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

  /// Installs `entry` (a leaf with the format's large-page bit) as the
  /// entry at `level` (1: 2 MiB, 2: 1 GiB) for `va`, which must be aligned
  /// to the level's span; allocates missing tables above it. Fails with
  /// already_mapped if that entry is present (a large leaf, or a table of
  /// smaller mappings, even an empty one), or large_page if a larger
  /// mapping covers va.
  MapResult map_large(uint64_t va, uint64_t entry, unsigned level) {
    uint64_t* slot;
    MapResult r = entry_slot(va, level, true, slot);
    if (r != MapResult::ok) return r;
    if (Enc::is_present(*slot)) return MapResult::already_mapped;
    *slot = entry;
    return MapResult::ok;
  }

  /// Clears the leaf that maps va, whatever its size: a 4 KiB leaf, or a
  /// large leaf at a higher level covering va (va need not be its first
  /// address). Returns the old entry in `old` and its level in `level`
  /// (0: 4 KiB, 1: 2 MiB, 2: 1 GiB).
  MapResult unmap_any(uint64_t va, uint64_t& old, unsigned& level) {
    uint64_t table_pa = root_;
    for (unsigned l = pte::kLevels - 1;; --l) {
      uint64_t& e = mem_.table(table_pa)[pte::index(va, l)];
      if (!Enc::is_present(e)) return MapResult::not_mapped;
      if (l == 0 || Enc::is_large(e)) {
        old = e;
        level = l;
        e = 0;
        return MapResult::ok;
      }
      table_pa = Enc::target(e);
    }
  }

  /// The leaf entry for va (0 if unmapped or behind a large page).
  uint64_t lookup(uint64_t va) {
    uint64_t* slot;
    if (leaf_slot(va, false, slot) != MapResult::ok) return 0;
    return *slot;
  }

  /// Empties the range [cursor, end) of the table in address order, in
  /// steps: each present leaf entry is cleared and `leaf(pa)` called with
  /// the page it mapped; each intermediate table is unhooked and `table(pa)`
  /// called once every entry below it is gone (the root itself is kept).
  /// One unit of `budget` per entry looked at (present or not), the entries
  /// on the way back down to `cursor` included, so a call with at least 4
  /// units makes progress. Returns true when the range is empty; false when
  /// the budget ran out, with `cursor` at the first address not yet done:
  /// calling again continues there. `end` is a multiple of 4 KiB. A large
  /// leaf above level 0 (Enc::is_large) is cleared like a 4 KiB one, with
  /// `leaf(pa)` called for each 4 KiB page it maps (one budget unit for all:
  /// a bounded 512 calls for a 2 MiB leaf; 1 GiB leaves are never made).
  template <typename Leaf, typename Table>
  bool teardown(uint64_t& cursor, uint64_t end, WorkBudget& budget, Leaf leaf, Table table) {
    return teardown_below(root_, pte::kLevels - 1, 0, cursor, end, budget, leaf, table);
  }

 private:
  // Tears down the part of [cursor, end) the table at `level` covers; it
  // maps addresses from `base`.
  template <typename Leaf, typename Table>
  bool teardown_below(uint64_t table_pa, unsigned level, uint64_t base, uint64_t& cursor, uint64_t end,
                      WorkBudget& budget, Leaf& leaf, Table& table) {
    const uint64_t span = 1ull << (12 + 9 * level);  // bytes one entry maps
    uint64_t* e = mem_.table(table_pa);
    for (unsigned i = cursor > base ? pte::index(cursor, level) : 0; i < 512; ++i) {
      const uint64_t va = base + i * span;
      if (va >= end) return true;
      if (!budget.take()) {
        if (cursor < va) cursor = va;
        return false;
      }
      if (Enc::is_present(e[i])) {
        const uint64_t pa = Enc::target(e[i]);
        if (level > 0 && Enc::is_large(e[i])) {
          e[i] = 0;
          for (uint64_t off = 0; off < span; off += 4096) leaf(pa + off);
        } else if (level > 0) {
          if (!teardown_below(pa, level - 1, va, cursor, end, budget, leaf, table)) return false;
          e[i] = 0;
          table(pa);
        } else {
          e[i] = 0;
          leaf(pa);
        }
      }
      cursor = va + span;
    }
    return true;
  }

  MapResult leaf_slot(uint64_t va, bool create, uint64_t*& out) { return entry_slot(va, 0, create, out); }

  // The entry for va in the table at `depth` (0: the 4 KiB leaf level).
  MapResult entry_slot(uint64_t va, unsigned depth, bool create, uint64_t*& out) {
    uint64_t table_pa = root_;
    for (unsigned level = pte::kLevels - 1; level > depth; --level) {
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
    out = &mem_.table(table_pa)[pte::index(va, depth)];
    return MapResult::ok;
  }

  Mem& mem_;
  uint64_t root_;
};

}  // namespace cos::x86
