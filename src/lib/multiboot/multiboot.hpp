// Multiboot (version 1) kernel images: finding and checking the header and
// working out what a loader copies where (Multiboot Specification 0.6.96,
// §3.1 "OS image format"). Shared by the composer (it refuses images the
// VMM could not load, with the reason) and simple_vmm (it loads them), and
// unit-tested on the host. Freestanding: no allocation, no standard library.
//
// What is accepted:
//   * the header: magic 0x1BADB002 at a 4-byte aligned offset in the first
//     8192 bytes, magic + flags + checksum == 0 (mod 2^32);
//   * flags: bit 0 (page-aligned modules), bit 1 (memory information) and
//     bit 16 (the a.out kludge: address fields). Bit 2 (a video mode) and the
//     other required bits 3-15 are refused (a loader must refuse required
//     features it does not provide); optional bits 17-31 are ignored;
//   * with bit 16: header_addr, load_addr, load_end_addr (0: to the end of
//     the file), bss_end_addr (0: no bss) and entry_addr, consistent with the
//     file (load_addr <= header_addr, the load range inside the file, the
//     entry inside the loaded image);
//   * without bit 16: an ELF executable, 32-bit (EM_386) or 64-bit
//     (EM_X86_64), little-endian, whose PT_LOAD segments are loaded at their
//     physical addresses (p_paddr) and lie below 4 GiB; the entry point
//     e_entry, translated from virtual to physical through the segment that
//     contains it when p_vaddr != p_paddr, must lie in a loaded segment.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::multiboot {

inline constexpr uint32_t kHeaderMagic = 0x1BADB002;
/// What the kernel finds in EAX at its entry.
inline constexpr uint32_t kBootloaderMagic = 0x2BADB002;
/// The header lies in the first kSearchBytes of the file, 4-byte aligned.
inline constexpr size_t kSearchBytes = 8192;

/// Header flags (§3.1.2).
inline constexpr uint32_t kFlagPageAlign = 1u << 0;   ///< modules on 4 KiB boundaries
inline constexpr uint32_t kFlagMemoryInfo = 1u << 1;  ///< mem_* and mmap_* wanted
inline constexpr uint32_t kFlagVideoMode = 1u << 2;   ///< a video mode table wanted (not provided)
inline constexpr uint32_t kFlagAoutKludge = 1u << 16; ///< address fields valid
/// Required-feature bits this loader provides.
inline constexpr uint32_t kSupportedRequired = kFlagPageAlign | kFlagMemoryInfo;

/// multiboot_info flags (§3.3) and its layout (offsets in bytes).
inline constexpr uint32_t kInfoMemory = 1u << 0;      ///< mem_lower, mem_upper
inline constexpr uint32_t kInfoCmdline = 1u << 2;     ///< cmdline
inline constexpr uint32_t kInfoMods = 1u << 3;        ///< mods_count, mods_addr
inline constexpr uint32_t kInfoMmap = 1u << 6;        ///< mmap_length, mmap_addr
inline constexpr uint32_t kInfoLoaderName = 1u << 9;  ///< boot_loader_name
struct Info {
  uint32_t flags;
  uint32_t mem_lower;  ///< KiB of memory from 0 (at most 640)
  uint32_t mem_upper;  ///< KiB of memory from 1 MiB up to the first hole
  uint32_t boot_device;
  uint32_t cmdline;    ///< physical address of a NUL-terminated string
  uint32_t mods_count;
  uint32_t mods_addr;  ///< physical address of mods_count Module entries
  uint32_t syms[4];
  uint32_t mmap_length;  ///< bytes of MmapEntry records (with their size fields)
  uint32_t mmap_addr;
  uint32_t drives_length, drives_addr, config_table, boot_loader_name, apm_table;
  uint32_t vbe_control_info, vbe_mode_info;
  uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
};
static_assert(sizeof(Info) == 88);
/// One module (§3.3): [mod_start, mod_end) and its string.
struct Module {
  uint32_t mod_start, mod_end, string, reserved;
};
/// One memory-map entry; `size` (20) does not count itself (§3.3).
struct __attribute__((packed)) MmapEntry {
  uint32_t size;
  uint64_t base_addr, length;
  uint32_t type;  ///< 1 = available RAM, other values reserved
};
static_assert(sizeof(MmapEntry) == 24);

/// A piece of the file the loader copies: `file_size` bytes from
/// `file_offset` to physical address `addr`, then zeros up to `mem_size`.
struct Segment {
  uint64_t file_offset, file_size;
  uint64_t addr, mem_size;
};

inline constexpr unsigned kMaxSegments = 16;

/// A loadable image.
struct Image {
  uint32_t header_offset;  ///< where the header is in the file
  uint32_t flags;          ///< the header's flags
  bool aout_kludge;        ///< loaded by the address fields, not as ELF
  bool elf64;              ///< an ELF64 file (else ELF32 or a.out kludge)
  uint32_t entry;          ///< physical address the loader jumps to
  Segment segments[kMaxSegments];
  unsigned segment_count;
  uint64_t load_start;     ///< lowest loaded address
  uint64_t load_end;       ///< end of the highest loaded byte (bss included)
};

enum class Error {
  ok = 0,
  no_header,            ///< no magic with a valid checksum in the first 8192 bytes
  bad_checksum,         ///< magic found, checksum wrong (detail.offset)
  video_mode,           ///< flags bit 2: a video mode is required
  unsupported_flags,    ///< other required bits (detail.value: the unknown bits)
  truncated_header,     ///< the a.out kludge fields do not fit in the file
  bad_load_addr,        ///< load_addr > header_addr
  load_outside_file,    ///< the a.out kludge's load range is not inside the file
  bad_load_end,         ///< load_end_addr < load_addr
  bad_bss_end,          ///< bss_end_addr below load_end_addr
  not_elf,              ///< no a.out kludge and not an ELF file
  bad_elf,              ///< ELF header malformed (class, data, version, type, machine, tables)
  no_segments,          ///< no PT_LOAD segment with memory
  too_many_segments,    ///< more than kMaxSegments PT_LOAD segments
  segment_outside_file, ///< a segment's file bytes are not in the file (detail.index)
  segment_above_4g,     ///< a segment ends above 4 GiB (detail.index)
  entry_outside_image,  ///< the entry point is in no loaded segment (detail.value)
};

/// Extra facts about an error, for messages.
struct Detail {
  uint64_t offset = 0;  ///< file offset involved
  uint64_t value = 0;   ///< a field value involved
  unsigned index = 0;   ///< segment index involved
};

/// Finds the header and computes the segments. `out` is valid only on ok.
Error parse(const uint8_t* data, size_t size, Image& out, Detail* detail = nullptr);

/// A description of `e` (static text, never null).
const char* error_string(Error e);

}  // namespace cos::multiboot
