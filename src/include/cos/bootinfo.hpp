// What the kernel hands the booter, the first user-level component: the
// capability slots it starts with and a boot-info page describing the
// multiboot2 modules (mapped read-only into its address space) and its
// untyped memory. Also the fixed user-address layout every component shares.
#pragma once
#include <stdint.h>

#include "cos/limits.hpp"

namespace cos::boot {

/// Component info page (BootInfo for the booter, CompInfo for the others).
inline constexpr uint64_t kInfoVaddr = cos_limits::kInfoVaddr;
/// Top of the main thread's stack; a guard gap (unmapped) lies below the stack.
inline constexpr uint64_t kStackTop = cos_limits::kStackTop;
/// The booter's view of the boot modules (each page-aligned, one unmapped
/// page between two).
inline constexpr uint64_t kModulesVaddr = 0x0000400000000000ull;
/// Where the booter temporarily maps a frame to fill it.
inline constexpr uint64_t kBooterScratchVaddr = 0x0000500000000000ull;
/// Booter stack size in bytes.
inline constexpr uint64_t kBooterStackBytes = 64 * 1024;
/// Slots in the booter's capability table (8 pages).
inline constexpr uint32_t kBooterCaptblPages = 8;

/// The booter's initial capability slots.
enum Slot : uint64_t {
  kSlotCaptbl = 1,   ///< its own capability table
  kSlotPgtbl = 2,    ///< its own page table
  kSlotComp = 3,     ///< itself
  kSlotThread = 4,   ///< its initial thread
  kSlotIoports = 5,  ///< all I/O ports [0, 0x10000) (the kernel's own stay out of reach: cos/kernel_hardware.h)
  kSlotIrqs = 6,     ///< all ISA IRQ lines [0, 16) (likewise)
  kSlotTimer = 7,    ///< the timer
  kSlotConsole = 8,  ///< console input (console_bind, console_read)
  kSlotFirstUntyped = 9,
};

inline constexpr uint64_t kBootInfoMagic = 0x4f464e49544f4f42ull;  // "BOOTINFO"
/// Boot modules the kernel passes on (cos/limits.hpp); it drops the rest.
inline constexpr unsigned kMaxModules = cos_limits::kMaxBootModules;
inline constexpr unsigned kMaxUntyped = 32;

struct Module {
  char name[cos_limits::kMaxModuleNameBytes + 1];  ///< multiboot2 module command line (NUL-terminated, truncated)
  uint64_t vaddr;  ///< where the booter sees the module's first byte
  uint64_t size;   ///< bytes
};

struct Untyped {
  uint64_t slot;  ///< capability slot in the booter's table
  uint64_t base;  ///< physical address
  uint64_t size;  ///< bytes (some may already be used for the booter itself)
};

struct BootInfo {
  uint64_t magic;
  uint32_t module_count;
  uint32_t untyped_count;
  uint32_t captbl_size;      ///< slots in the booter's capability table
  uint32_t first_free_slot;  ///< first slot not used by the kernel's grants
  Module modules[kMaxModules];
  Untyped untyped[kMaxUntyped];
};
static_assert(sizeof(BootInfo) <= 4096);
static_assert(sizeof(Module::name) == cos_limits::kMaxModuleNameBytes + 1);
static_assert(kBooterStackBytes + 2 * cos_limits::kPageBytes <= kStackTop - kInfoVaddr);

}  // namespace cos::boot
