// Boot manifest binary layout, version 5: the constants shared by the reader
// (freestanding, booter) and the writer (host, composer). FORMAT.md in this
// directory is the prose description; keep the two in sync.
#pragma once

#include <stdint.h>

#include "cos/limits.hpp"

namespace cos::manifest::format {

/// "COSM" in file byte order.
inline constexpr uint32_t magic = 0x4D534F43u;
/// The only version this code reads and writes.
inline constexpr uint16_t version = 5;

// Header (96 bytes): byte offsets of its fields.
inline constexpr uint32_t header_size = 96;
inline constexpr uint32_t h_magic = 0;               // u32
inline constexpr uint32_t h_version = 4;             // u16
inline constexpr uint32_t h_header_size = 6;         // u16
inline constexpr uint32_t h_total_size = 8;          // u32, bytes
inline constexpr uint32_t h_checksum = 12;           // u32, CRC-32
inline constexpr uint32_t h_component_count = 16;    // u32
inline constexpr uint32_t h_components_offset = 20;  // u32
inline constexpr uint32_t h_implements_count = 24;   // u32
inline constexpr uint32_t h_implements_offset = 28;  // u32
inline constexpr uint32_t h_deps_count = 32;         // u32
inline constexpr uint32_t h_deps_offset = 36;        // u32
inline constexpr uint32_t h_params_count = 40;       // u32
inline constexpr uint32_t h_params_offset = 44;      // u32
inline constexpr uint32_t h_strings_offset = 48;     // u32
inline constexpr uint32_t h_strings_size = 52;       // u32
inline constexpr uint32_t h_system_name = 56;        // strref
inline constexpr uint32_t h_ioports_count = 64;      // u32
inline constexpr uint32_t h_ioports_offset = 68;     // u32
inline constexpr uint32_t h_irqs_count = 72;         // u32
inline constexpr uint32_t h_irqs_offset = 76;        // u32
inline constexpr uint32_t h_blobs_count = 80;        // u32
inline constexpr uint32_t h_blobs_offset = 84;       // u32
inline constexpr uint32_t h_channels_count = 88;     // u32 (version 5)
inline constexpr uint32_t h_channels_offset = 92;    // u32 (version 5)
/// Bytes of the header every version starts with (magic, version,
/// header_size): enough to tell which version a buffer claims to be.
inline constexpr uint32_t version_prefix_size = 8;

/// A string reference: u32 offset into the string pool, u32 length in bytes
/// (excluding the NUL that must follow the string in the pool).
inline constexpr uint32_t strref_size = 8;

// Component record (128 bytes).
inline constexpr uint32_t component_size = 128;
inline constexpr uint32_t c_name = 0;               // strref
inline constexpr uint32_t c_image = 8;              // strref
inline constexpr uint32_t c_heap_bytes = 16;        // u64
inline constexpr uint32_t c_stack_bytes = 24;       // u64
inline constexpr uint32_t c_sinv_entry = 32;        // u64
inline constexpr uint32_t c_priority = 40;          // u32
inline constexpr uint32_t c_flags = 44;             // u32
inline constexpr uint32_t c_implements_first = 48;  // u32
inline constexpr uint32_t c_implements_count = 52;  // u32
inline constexpr uint32_t c_deps_first = 56;        // u32
inline constexpr uint32_t c_deps_count = 60;        // u32
inline constexpr uint32_t c_params_first = 64;      // u32
inline constexpr uint32_t c_params_count = 68;      // u32
inline constexpr uint32_t c_untyped_bytes = 72;     // u64, multiple of 4096 (0: none)
inline constexpr uint32_t c_caps_mask = 80;         // u32, cos::manifest::kCap* bits
inline constexpr uint32_t c_ioports_first = 84;     // u32
inline constexpr uint32_t c_ioports_count = 88;     // u32
inline constexpr uint32_t c_irqs_first = 92;        // u32
inline constexpr uint32_t c_irqs_count = 96;        // u32
inline constexpr uint32_t c_blobs_first = 100;      // u32
inline constexpr uint32_t c_blobs_count = 104;      // u32
inline constexpr uint32_t c_priority_ceiling = 108; // u16, 0..255, <= c_priority
inline constexpr uint32_t c_guest_kind = 110;       // u16, guest_kind_* (0 without a guest)
inline constexpr uint32_t c_guest_ram_bytes = 112;  // u64, multiple of 4096 (0: no guest)
inline constexpr uint32_t c_guest_cmdline = 120;    // strref ("" without a guest)

/// c_flags bit: the kernel constructs this component (the booter).
inline constexpr uint32_t flag_constructed_by_kernel = 1u << 0;
/// c_flags bit: the component is granted the periodic-timer capability.
inline constexpr uint32_t flag_timer = 1u << 1;
/// c_flags bit: the component is granted console input.
inline constexpr uint32_t flag_console = 1u << 2;
/// c_flags bit: the component is essential (`essential`): the booter marks
/// it so for the kernel (Op::comp_essential), and stops the system if it
/// cannot build it.
inline constexpr uint32_t flag_essential = 1u << 3;
/// c_flags bit: the guest's isa-debug-exit write ends the run with QEMU's
/// status ([component.guest] exit_status = "debug-exit").
inline constexpr uint32_t flag_guest_debug_exit = 1u << 4;
/// c_flags bits 8..15: the CPU the component's first thread is placed on
/// (`cpu`, 0..cos_limits::kMaxCpus - 1; the booter calls thd_cpu).
inline constexpr uint32_t flag_cpu_shift = 8;
inline constexpr uint32_t flag_cpu_mask = 0xffu << flag_cpu_shift;
/// c_guest_kind values ([component.guest] kind).
inline constexpr uint32_t guest_kind_linux = 0;      ///< a bzImage started by the guest bootloader
inline constexpr uint32_t guest_kind_multiboot = 1;  ///< a Multiboot (v1) kernel with modules
/// Every bit of c_caps_mask that has a meaning (captbl | pgtbl | comp).
inline constexpr uint32_t caps_mask_all = 7;

// Implements entry: one strref (the interface name).
inline constexpr uint32_t implements_size = strref_size;

// Dependency record (16 bytes).
inline constexpr uint32_t dep_size = 16;
inline constexpr uint32_t d_interface = 0;  // strref
inline constexpr uint32_t d_server = 8;     // u32, component index
inline constexpr uint32_t d_token = 12;     // u32, index in the server's implements list

// Parameter record (16 bytes).
inline constexpr uint32_t param_size = 16;
inline constexpr uint32_t p_key = 0;    // strref
inline constexpr uint32_t p_value = 8;  // strref

// I/O-port range record (8 bytes): ports [first, first + count).
inline constexpr uint32_t ioport_size = 8;
inline constexpr uint32_t io_first = 0;  // u32
inline constexpr uint32_t io_count = 4;  // u32, >= 1; first + count <= ioport_limit
/// Number of x86 I/O ports: valid ports are 0 .. ioport_limit - 1.
inline constexpr uint32_t ioport_limit = 0x10000;

// IRQ record (4 bytes): one ISA IRQ line.
inline constexpr uint32_t irq_size = 4;
inline constexpr uint32_t q_line = 0;  // u32, < irq_lines and != irq_cascade
/// ISA IRQ lines (8259 PIC pair) and the cascade line, which is never granted.
inline constexpr uint32_t irq_lines = 16;
inline constexpr uint32_t irq_cascade = 2;

// Blob record (24 bytes): a boot module the booter copies into the component.
inline constexpr uint32_t blob_size = 24;
inline constexpr uint32_t b_name = 0;     // strref: the name the component sees ("guest.kernel")
inline constexpr uint32_t b_module = 8;   // strref: the GRUB module's command line ("vmm.guest.kernel")
inline constexpr uint32_t b_flags = 16;   // u32: blob_flag_* bits (version 5)
inline constexpr uint32_t b_reserved = 20;  // u32: written as 0, ignored
/// b_flags bit: the booter maps the component's copy read-write (`writable`).
inline constexpr uint32_t blob_flag_writable = 1u << 0;

// Channel record (24 bytes, version 5): memory shared by two components plus
// a notification endpoint each ([[channel]]).
inline constexpr uint32_t channel_size = 24;
inline constexpr uint32_t ch_name = 0;   // strref: the channel's name
inline constexpr uint32_t ch_end0 = 8;   // u32: component index of `ends[0]`
inline constexpr uint32_t ch_end1 = 12;  // u32: component index of `ends[1]` (!= end0)
inline constexpr uint32_t ch_bytes = 16; // u64: shared memory, a multiple of 4096 in [channel_min_bytes, channel_max_bytes]
/// Channel sizes the reader accepts (= cos_limits::kMinChannelBytes, kMaxChannelBytes).
inline constexpr uint64_t channel_min_bytes = cos_limits::kMinChannelBytes;
inline constexpr uint64_t channel_max_bytes = cos_limits::kMaxChannelBytes;

}  // namespace cos::manifest::format
