// Nested page tables (AMD APM Vol. 2, 15.25.5 "Nested Table Walk"): the
// ordinary x86-64 long-mode entry format; every nested access counts as a
// user access, so the U bit is set at all levels. Pure logic: host-compilable
// and unit-tested.
#pragma once
#include <stdint.h>

#include "cos/abi.hpp"

namespace cos::svm::npt {

inline constexpr uint64_t kPresent = 1ull << 0, kWrite = 1ull << 1, kUser = 1ull << 2,
                          kLargePage = 1ull << 7, kNoExecute = 1ull << 63,
                          kAddrMask = 0x000ffffffffff000ull;

/// A non-leaf entry: the leaf decides the access.
constexpr uint64_t table_entry(uint64_t table_pa) { return (table_pa & kAddrMask) | kPresent | kWrite | kUser; }

/// A 4 KiB leaf mapping `hpa` with the given abi::Rights (read is implied
/// by present; write and exec as asked). The memory type comes from the
/// host's PAT and MTRRs combined with the guest's (APM 15.25.8): write-back
/// RAM.
constexpr uint64_t leaf_entry(uint64_t hpa, uint64_t rights) {
  return (hpa & kAddrMask) | kPresent | kUser | ((rights & abi::Rights::write) ? kWrite : 0) |
         ((rights & abi::Rights::exec) ? 0 : kNoExecute);
}

/// A 2 MiB leaf (a PDE with PS, APM Vol. 2, 15.25.5 and 5.3.4 "2-Mbyte Page
/// Translation") mapping the 2 MiB-aligned `hpa` with the given abi::Rights,
/// otherwise like leaf_entry (the PAT bit of a large page is bit 12: clear).
/// Nested paging always offers 2 MiB pages.
constexpr uint64_t large_leaf_entry(uint64_t hpa, uint64_t rights) {
  return leaf_entry(hpa & ~((1ull << 21) - 1), rights) | kLargePage;
}

constexpr bool present(uint64_t e) { return (e & kPresent) != 0; }
constexpr uint64_t address(uint64_t e) { return e & kAddrMask; }

/// Index of guest-physical address `gpa` in the table at `level` (3 = PML4).
constexpr unsigned index(uint64_t gpa, unsigned level) {
  return static_cast<unsigned>((gpa >> (12 + 9 * level)) & 0x1ff);
}

/// Walks the nested page tables with `mem.table(pa)` returning the 512
/// entries of the table at pa. Returns the host-physical address of `gpa`
/// (large pages included) and whether the leaf allows writes, or false if
/// unmapped.
template <typename Mem>
bool translate(Mem& mem, uint64_t root_pa, uint64_t gpa, uint64_t& hpa, bool& writable) {
  uint64_t table = root_pa;
  for (unsigned level = 3;; --level) {
    uint64_t e = mem.table(table)[index(gpa, level)];
    if (!present(e)) return false;
    if (level == 0 || ((level == 1 || level == 2) && (e & kLargePage))) {
      uint64_t span = 1ull << (12 + 9 * level);
      hpa = (address(e) & ~(span - 1)) | (gpa & (span - 1));
      writable = (e & kWrite) != 0;
      return true;
    }
    table = address(e);
  }
}

}  // namespace cos::svm::npt
