// Limits on what a composition script may grant a component. They mirror the
// booter's info page and the kernel's ABI; manifest_builder.cpp checks them
// against cos/compinfo.hpp and cos/abi.hpp at compile time (this header
// cannot include those: see the namespace note in diagnostic.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace composer {

/// Dependencies per component (cos::boot::kMaxDeps: the info page's table).
inline constexpr size_t max_deps = 24;
/// I/O-port ranges per component (cos::boot::kMaxIoports).
inline constexpr size_t max_ioport_ranges = 8;
/// Number of I/O ports: ports are 0 .. io_ports - 1.
inline constexpr uint32_t io_ports = 0x10000;
/// ISA IRQ lines (cos::abi::kIrqLines) and the PIC cascade line, never granted.
inline constexpr uint32_t irq_lines = 16;
inline constexpr uint32_t irq_cascade = 2;
/// Largest `untyped` grant.
inline constexpr uint64_t max_untyped_bytes = uint64_t(1) << 30;

// [component.guest] (checked against cos/compinfo.hpp and cos/guest_boot.hpp).
/// Longest guest command line (cos::boot::kGuestCmdlineBytes - 1: the info page's copy).
inline constexpr size_t max_guest_cmdline_bytes = 255;
/// Blobs a component may receive (cos::boot::kMaxBlobs); a guest uses 3.
inline constexpr size_t max_blobs = 4;
/// Modules of a Multiboot guest (cos::guest::kMaxModules).
inline constexpr size_t max_guest_modules = 16;
/// A Multiboot kernel loads at or above 1 MiB (simple_vmm's rule, as GRUB's).
inline constexpr uint64_t multiboot_min_load = 0x100000;
/// Largest guest bootloader image (cos::guest::kBootloaderMaxBytes).
inline constexpr uint64_t max_bootloader_bytes = 0x7000;
/// Where the VMM loads the bzImage file (cos::guest::kKernelFileGpa) and where
/// the protected-mode kernel runs from (cos::guest::kKernel32Gpa).
inline constexpr uint64_t guest_kernel_file_gpa = 0x4000000;
inline constexpr uint64_t guest_kernel32_gpa = 0x100000;

}  // namespace composer
