// Creation of the first user-level component, the booter, from the boot
// modules and the free physical memory the platform found.
#pragma once
#include <stdint.h>

namespace cos {

struct BootModule {
  uint64_t start;  ///< physical address
  uint64_t end;    ///< physical address one past the last byte
  const char* name;
};

struct MemRange {
  uint64_t base;  ///< physical, page aligned
  uint64_t size;  ///< bytes, page multiple
};

/// Builds the booter from the module named "booter": its capability table,
/// page table, ELF image, stack, boot-info page with every module mapped
/// read-only, and untyped capabilities for all free memory. Starts its thread
/// at priority 0. Panics (a boot-configuration error) if the booter is missing
/// or malformed, or memory is too small.
void boot_create_booter(const BootModule* modules, unsigned module_count, const MemRange* free,
                        unsigned free_count);

}  // namespace cos
