// The kernel's own page tables, built once at boot to replace the boot
// tables of boot.S (2 MiB pages, everything writable and executable):
//   - the kernel image at kKernelVirtBase + physical, with 4 KiB pages: text
//     read-only and executable, rodata read-only, data and bss writable;
//     nothing else of the first GiB is mapped there;
//   - the direct map of physical memory, writable and never executable
//     (2 MiB pages; the top GiB below 4 GiB, where the LAPIC and I/O APIC
//     live, uncached);
//   - no identity map, no user half.
// Every kernel mapping is global (CR4.PGE). Intel SDM Vol. 3A, 4.5 "4-Level
// Paging" and 4.6 "Access Rights".
#pragma once
#include <stdint.h>

#include "x86_64/layout.hpp"
#include "x86_64/pte.hpp"

namespace cos::x86 {

/// The sections of the kernel image, as kernel virtual addresses (page aligned).
struct KernelImage {
  uint64_t text_start, text_end;      ///< read-only, executable
  uint64_t rodata_start, rodata_end;  ///< read-only
  uint64_t data_start, data_end;      ///< read-write (data and bss)
};

/// The 4 KiB leaf entry for kernel virtual address `va` of the image, or 0
/// if `va` is outside it. Pure: unit-tested.
constexpr uint64_t kernel_image_entry(const KernelImage& img, uint64_t va) {
  using namespace pte;
  const uint64_t pa = va - kKernelVirtBase;
  if (va >= img.text_start && va < img.text_end) return (pa & kAddrMask) | kPresent | kGlobal;
  if (va >= img.rodata_start && va < img.rodata_end) return (pa & kAddrMask) | kPresent | kGlobal | kNoExecute;
  if (va >= img.data_start && va < img.data_end) return (pa & kAddrMask) | kPresent | kWritable | kGlobal | kNoExecute;
  return 0;
}

/// The 2 MiB direct-map entry for physical address `pa` (2 MiB aligned):
/// writable, never executable; uncached in the top GiB below 4 GiB (LAPIC,
/// I/O APIC and other MMIO). Pure: unit-tested.
constexpr uint64_t direct_map_entry(uint64_t pa) {
  using namespace pte;
  uint64_t e = (pa & kAddrMask) | kPresent | kWritable | kLargePage | kGlobal | kNoExecute;
  if (pa >= (3ull << 30) && pa < (4ull << 30)) e |= kCacheDisable;
  return e;
}

/// Counts the leaf mappings below the table at `table_pa` (level 3 = PML4:
/// only the kernel half, entries 256-511) that are both writable and
/// executable; `mem.table(pa)` gives a table's 512 entries. Pure: unit-tested.
template <typename Mem>
unsigned count_writable_executable(Mem& mem, uint64_t table_pa, unsigned level = 3) {
  using namespace pte;
  unsigned n = 0;
  const uint64_t* e = mem.table(table_pa);
  for (unsigned i = level == 3 ? 256 : 0; i < 512; ++i) {
    if (!present(e[i])) continue;
    const bool leaf = level == 0 || (level < 3 && (e[i] & kLargePage));
    if (leaf) n += writable(e[i]) && executable(e[i]);
    else n += count_writable_executable(mem, address(e[i]), level - 1);
  }
  return n;
}

/// Builds the tables and loads them into CR3; call once, before any address
/// space is created (they copy the kernel half of the current PML4).
void kernel_paging_init();
/// Turns on the protections the CPU offers (SMEP, SMAP, UMIP in CR4) and
/// returns a short list of what is on ("W^X, SMEP, SMAP, UMIP").
const char* protection_init();
/// Turns the same protections on for this CPU (an application processor).
void protection_this_cpu();
/// Physical address of the kernel's PML4: an address space with nothing
/// but the kernel (loaded when a component's is torn down).
uint64_t kernel_root();

}  // namespace cos::x86
