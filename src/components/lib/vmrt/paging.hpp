// vmrt: guest-virtual -> guest-physical translation by walking the guest's
// own page tables in guest memory, in the paging mode its CR0/CR4/EFER
// select (none, 32-bit, PAE, 4-level, 5-level), and a builder for 4-level
// page tables in guest memory (what vmrt's long-mode setup uses).
//
// Host-compilable. The walk reads tables through GuestMemory; it checks
// present bits, the R/W, U/S and NX permissions of every level against the
// requested access (CR0.WP, EFER.NXE honoured; SMEP/SMAP/PKEYs and reserved
// bits are not checked) and never sets accessed/dirty bits.
#pragma once
#include <stdint.h>

#include "cos/vm.hpp"
#include "vmrt/error.hpp"
#include "vmrt/guest_memory.hpp"

namespace vmrt {

namespace vm = cos::vm;

/// The guest's paging mode.
enum class PagingMode : uint8_t {
  off,       ///< CR0.PG = 0: linear = physical (truncated to 32 bits)
  legacy32,  ///< 2-level 32-bit paging (4 KiB, and 4 MiB pages with CR4.PSE)
  pae,       ///< 3-level PAE paging (4 KiB / 2 MiB pages)
  level4,    ///< 4-level IA-32e paging (4 KiB / 2 MiB / 1 GiB pages)
  level5,    ///< 5-level paging (CR4.LA57)
};

/// Name of a paging mode ("level4").
const char* paging_mode_name(PagingMode m);

/// The control registers the walk depends on.
struct PagingRegs {
  uint64_t cr0 = 0, cr3 = 0, cr4 = 0, efer = 0;
};

// Architectural bits used by the walker and the mode setup.
inline constexpr uint64_t kCr0Pe = 1ull << 0, kCr0Et = 1ull << 4, kCr0Ne = 1ull << 5, kCr0Wp = 1ull << 16,
                          kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pse = 1ull << 4, kCr4Pae = 1ull << 5, kCr4La57 = 1ull << 12,
                          kCr4OsXsave = 1ull << 18;
inline constexpr uint64_t kEferSce = 1ull << 0, kEferLme = 1ull << 8, kEferLma = 1ull << 10,
                          kEferNxe = 1ull << 11;

// Page-table entry bits (all modes).
inline constexpr uint64_t kPtePresent = 1ull << 0, kPteWrite = 1ull << 1, kPteUser = 1ull << 2,
                          kPteAccessed = 1ull << 5, kPteDirty = 1ull << 6, kPteLarge = 1ull << 7,
                          kPteNx = 1ull << 63;
/// Physical-address bits 51:12 of a 64-bit entry.
inline constexpr uint64_t kPteAddrMask = 0x000ffffffffff000ull;

/// Access kinds for translate(): vm::kAccessRead/Write/Exec plus this one.
inline constexpr uint32_t kAccessUser = 8;  ///< a CPL-3 access

/// #PF error-code bits as reported in Error::detail for Errc::page_fault.
inline constexpr uint64_t kPfPresent = 1, kPfWrite = 2, kPfUser = 4, kPfReserved = 8, kPfFetch = 16;

/// The paging mode CR0/CR4/EFER select (EFER.LMA, or EFER.LME with CR0.PG,
/// means IA-32e).
PagingMode paging_mode(const PagingRegs& r);

/// A successful translation.
struct Translation {
  uint64_t gpa = 0;        ///< guest-physical address of the byte at gva
  uint64_t page_size = 0;  ///< bytes of the mapping page (4 KiB .. 1 GiB; 4 GiB when paging is off)
  bool writable = false;   ///< every level allows writes
  bool user = false;       ///< every level allows CPL-3 accesses
  bool executable = false; ///< no level sets NX (with EFER.NXE)
  PagingMode mode = PagingMode::off;
};

/// Translates guest-virtual gva for an access of kind `access`
/// (vm::kAccessRead/Write/Exec | kAccessUser). Errors: page_fault (addr =
/// gva, detail = #PF error code), non_canonical (IA-32e modes), not_ram
/// (a table lies outside guest RAM: addr = its guest-physical address).
Result<Translation> translate(const GuestMemory& mem, const PagingRegs& regs, uint64_t gva,
                              uint32_t access = vm::kAccessRead);

/// Builds 4-level (IA-32e) page tables in guest memory. Table pages come
/// from a pool [pool_gpa, pool_gpa + pool_bytes) of guest RAM, handed out in
/// order and zeroed when taken. Usage:
///
///   vmrt::PageTableBuilder pt(mem, 0x9000, 0x4000);
///   VMRT_TRY(pt.map(0, 0, 1ull << 30));      // identity-map the first GiB
///   uint64_t cr3 = pt.root().value();
class PageTableBuilder {
 public:
  PageTableBuilder(GuestMemory& mem, uint64_t pool_gpa, uint64_t pool_bytes)
      : mem_(mem), pool_(pool_gpa), pool_end_(pool_gpa + pool_bytes), next_(pool_gpa) {}

  /// Guest-physical address of the PML4 (allocated on first use): the CR3
  /// value. Errors: as map().
  Result<uint64_t> root();
  /// Maps [gva, gva + bytes) to [gpa, gpa + bytes) with `flags` (kPteWrite,
  /// kPteUser, kPteNx; present is implied), using 2 MiB pages where both
  /// addresses and the remaining length allow it and 4 KiB pages elsewhere.
  /// gva, gpa and bytes must be 4 KiB aligned and gva canonical. An existing
  /// mapping of a page is replaced; a 2 MiB mapping that a 4 KiB mapping
  /// must go inside is an error (bad_argument). Errors: bad_argument;
  /// no_memory when the pool is exhausted (addr = pool end); not_ram when
  /// the pool is not guest RAM.
  Status map(uint64_t gva, uint64_t gpa, uint64_t bytes, uint64_t flags = kPteWrite);
  /// Bytes of the pool taken so far.
  uint64_t pool_used() const { return next_ - pool_; }

 private:
  Result<uint64_t> take_table();
  /// The table that entry `index` of table `table` points to, made if absent.
  Result<uint64_t> next_level(uint64_t table, unsigned index);

  GuestMemory& mem_;
  uint64_t pool_, pool_end_;
  uint64_t next_;  ///< the next free pool address
  uint64_t root_ = 0;
};

/// Identity-maps guest-virtual [0, bytes) with writable 2 MiB pages using
/// PageTableBuilder and returns the CR3 value (the PML4's address). Tables
/// take 2 + ceil(bytes / 1 GiB) pages at tables_gpa. Errors: as PageTableBuilder::map.
Result<uint64_t> build_identity_map(GuestMemory& mem, uint64_t tables_gpa, uint64_t tables_bytes, uint64_t bytes);

}  // namespace vmrt
