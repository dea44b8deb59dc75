// Extended page tables: entry and EPTP encoding (Intel SDM Vol. 3C, 29.3.2
// "EPT Translation Mechanism" and 25.6.11 "Extended-Page-Table Pointer").
// Pure logic: host-compilable and unit-tested.
#pragma once
#include <stdint.h>

namespace cos::vmx::ept {

inline constexpr uint64_t kRead = 1ull << 0;
inline constexpr uint64_t kWrite = 1ull << 1;
inline constexpr uint64_t kExec = 1ull << 2;  ///< supervisor-mode execute
inline constexpr uint64_t kRwx = kRead | kWrite | kExec;
inline constexpr unsigned kMemTypeShift = 3;  ///< leaf bits 5:3: EPT memory type
inline constexpr uint64_t kIgnorePat = 1ull << 6;
inline constexpr uint64_t kLargePage = 1ull << 7;  ///< in a PDPTE / PDE: maps 1 GiB / 2 MiB
inline constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;

inline constexpr uint64_t kMemTypeUc = 0, kMemTypeWb = 6;

/// The 4 KiB frame rights of abi::Rights (read = 1, write = 2, exec = 4).
inline constexpr uint64_t kRightRead = 1, kRightWrite = 2, kRightExec = 4;

/// A non-leaf entry: the leaf decides the access (rights are ANDed over the walk).
constexpr uint64_t table_entry(uint64_t table_pa) { return (table_pa & kAddrMask) | kRwx; }

/// A 4 KiB leaf mapping `hpa` write-back (guest PAT ignored: the memory is
/// ordinary RAM) with the given abi::Rights. Write without read is an EPT
/// misconfiguration, so write implies read; execute-only needs the CPU's
/// support (IA32_VMX_EPT_VPID_CAP bit 0), else it implies read too. No
/// rights at all yields a non-present entry.
constexpr uint64_t leaf_entry(uint64_t hpa, uint64_t rights, bool execute_only_ok) {
  uint64_t p = 0;
  if (rights & kRightRead) p |= kRead;
  if (rights & kRightWrite) p |= kWrite | kRead;
  if (rights & kRightExec) p |= kExec;
  if (p == kExec && !execute_only_ok) p |= kRead;
  if (p == 0) return 0;
  return (hpa & kAddrMask) | p | (kMemTypeWb << kMemTypeShift) | kIgnorePat;
}

/// A 2 MiB leaf (an EPT PDE with bit 7 set, SDM Vol. 3C, 29.3.2, table
/// "Format of an EPT Page-Directory Entry that Maps a 2-MByte Page")
/// mapping the 2 MiB-aligned `hpa`; bits 6:0 as leaf_entry. Only for CPUs
/// whose IA32_VMX_EPT_VPID_CAP bit 16 is set.
constexpr uint64_t large_leaf_entry(uint64_t hpa, uint64_t rights, bool execute_only_ok) {
  const uint64_t e = leaf_entry(hpa & ~((1ull << 21) - 1), rights, execute_only_ok);
  return e ? e | kLargePage : 0;
}

/// An entry is present if any of R/W/X is set (29.3.2).
constexpr bool present(uint64_t e) { return (e & kRwx) != 0; }
constexpr uint64_t address(uint64_t e) { return e & kAddrMask; }

/// EPTP for a PML4 at root_pa: write-back paging-structure memory type and a
/// 4-level walk (bits 5:3 = walk length - 1); no accessed/dirty flags.
constexpr uint64_t eptp(uint64_t root_pa) {
  return (root_pa & kAddrMask) | kMemTypeWb | (3ull << 3);
}

/// Index of guest-physical address `gpa` in the table at `level` (3 = PML4).
constexpr unsigned index(uint64_t gpa, unsigned level) {
  return static_cast<unsigned>((gpa >> (12 + 9 * level)) & 0x1ff);
}

/// Walks the EPT hierarchy with `mem.table(pa)` returning the 512 entries
/// of the table at pa. Returns the host-physical address of `gpa` (large
/// pages included) and the leaf's R/W/X bits in `perm`, or false if unmapped.
template <typename Mem>
bool translate(Mem& mem, uint64_t root_pa, uint64_t gpa, uint64_t& hpa, uint64_t& perm) {
  uint64_t table = root_pa;
  for (unsigned level = 3;; --level) {
    uint64_t e = mem.table(table)[index(gpa, level)];
    if (!present(e)) return false;
    if (level == 0 || ((level == 1 || level == 2) && (e & kLargePage))) {
      uint64_t span = 1ull << (12 + 9 * level);
      hpa = (address(e) & ~(span - 1)) | (gpa & (span - 1));
      perm = e & kRwx;
      return true;
    }
    table = address(e);
  }
}

}  // namespace cos::vmx::ept
