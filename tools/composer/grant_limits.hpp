// The composer's names for the limits in cos/limits.hpp (the one table the
// booter, the info pages and the guest layout are defined from) plus the
// hardware facts the grants are checked against. manifest_builder.cpp
// checks the hardware facts against cos/abi.hpp and the manifest format at
// compile time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cos/limits.hpp"

namespace composer {

/// Dependencies per component (the info page's table).
inline constexpr size_t max_deps = cos_limits::kMaxDeps;
/// I/O-port ranges per component.
inline constexpr size_t max_ioport_ranges = cos_limits::kMaxIoportRanges;
/// Number of I/O ports: ports are 0 .. io_ports - 1.
inline constexpr uint32_t io_ports = 0x10000;
/// ISA IRQ lines (cos::abi::kIrqLines) and the PIC cascade line, never granted.
inline constexpr uint32_t irq_lines = 16;
inline constexpr uint32_t irq_cascade = 2;
static_assert(irq_lines <= cos_limits::kMaxIrqs, "every ISA line fits a component's info page");
/// Largest `untyped` grant.
inline constexpr uint64_t max_untyped_bytes = cos_limits::kMaxUntypedBytes;

// [component.guest].
/// Longest guest command line (the info page's copy holds it and a NUL).
inline constexpr size_t max_guest_cmdline_bytes = cos_limits::kMaxGuestCmdlineBytes;
/// Largest guest bootloader image.
inline constexpr uint64_t max_bootloader_bytes = cos_limits::kGuestBootloaderMaxBytes;
/// Where the VMM loads the bzImage file and where the protected-mode kernel
/// runs from (cos/guest_boot.hpp).
inline constexpr uint64_t guest_kernel_file_gpa = cos_limits::kGuestKernelFileGpa;
inline constexpr uint64_t guest_kernel32_gpa = cos_limits::kGuestKernel32Gpa;
/// Modules of a Multiboot guest (cos::guest::kMaxModules).
inline constexpr size_t max_guest_modules = cos_limits::kMaxGuestModules;
/// Kernel module source directories of a Linux guest (`module_sources`): a
/// bound for the script, not a boot-path limit.
inline constexpr size_t max_guest_module_sources = 8;
/// A Multiboot kernel loads at or above 1 MiB (simple_vmm's rule, as GRUB's).
inline constexpr uint64_t multiboot_min_load = cos_limits::kMultibootMinLoad;

}  // namespace composer
