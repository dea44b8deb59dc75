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

}  // namespace composer
