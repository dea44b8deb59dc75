// x86-64 4-level paging entry encoding (Intel SDM Vol. 3A, 4.5 "4-Level
// Paging", tables 4-14..4-20). Pure logic: host-compilable and unit-tested.
#pragma once
#include <stdint.h>

namespace cos::x86::pte {

inline constexpr uint64_t kPresent = 1ull << 0;
inline constexpr uint64_t kWritable = 1ull << 1;
inline constexpr uint64_t kUser = 1ull << 2;
inline constexpr uint64_t kWriteThrough = 1ull << 3;
inline constexpr uint64_t kCacheDisable = 1ull << 4;
inline constexpr uint64_t kAccessed = 1ull << 5;
inline constexpr uint64_t kDirty = 1ull << 6;
inline constexpr uint64_t kLargePage = 1ull << 7;  ///< PS in a PDE/PDPTE
inline constexpr uint64_t kGlobal = 1ull << 8;
inline constexpr uint64_t kNoExecute = 1ull << 63;
/// Physical-address bits 51:12 of an entry.
inline constexpr uint64_t kAddrMask = 0x000ffffffffff000ull;

/// Levels: 3 = PML4, 2 = PDPT, 1 = PD, 0 = PT.
inline constexpr unsigned kLevels = 4;

/// Index (0..511) of virtual address `va` in the table at `level`.
constexpr unsigned index(uint64_t va, unsigned level) {
  return static_cast<unsigned>((va >> (12 + 9 * level)) & 0x1ff);
}

/// True if `va` is canonical for 48-bit virtual addresses.
constexpr bool canonical(uint64_t va) {
  uint64_t top = va >> 47;
  return top == 0 || top == 0x1ffff;
}

/// Physical address an entry points to.
constexpr uint64_t address(uint64_t e) { return e & kAddrMask; }

/// A non-leaf entry pointing to the next-level table at `table_pa`. Non-leaf
/// entries are maximally permissive (user, writable, executable): the leaf
/// decides, as permissions are the AND over all levels.
constexpr uint64_t table(uint64_t table_pa) {
  return (table_pa & kAddrMask) | kPresent | kWritable | kUser;
}

/// A 4 KiB user leaf entry for frame `pa` with the given access.
constexpr uint64_t user_page(uint64_t pa, bool writable, bool executable) {
  return (pa & kAddrMask) | kPresent | kUser | (writable ? kWritable : 0) |
         (executable ? 0 : kNoExecute);
}

constexpr bool present(uint64_t e) { return (e & kPresent) != 0; }
constexpr bool writable(uint64_t e) { return (e & kWritable) != 0; }
constexpr bool user(uint64_t e) { return (e & kUser) != 0; }
constexpr bool executable(uint64_t e) { return (e & kNoExecute) == 0; }

/// The x86-64 paging encoding as a policy for PageTable<> (EPT and NPT
/// backends provide their own).
struct Encoding {
  static constexpr uint64_t table_entry(uint64_t pa) { return table(pa); }
  static constexpr bool is_present(uint64_t e) { return present(e); }
  static constexpr bool is_large(uint64_t e) { return (e & kLargePage) != 0; }
  static constexpr uint64_t target(uint64_t e) { return address(e); }
};

}  // namespace cos::x86::pte
