// ELF64 executable reader for cos component images.
//
// Compiles both on the host (composer, unit tests) and freestanding (booter):
// it uses only <stdint.h>/<stddef.h>, never allocates, never throws, and reads
// the file with byte-wise little-endian loads, so the input buffer needs no
// particular alignment. An Image only borrows the buffer passed to parse(); the
// buffer must outlive it.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace cos::elf {

/// First address outside the user half of the x86-64 address space. Every
/// loadable byte of a component image must lie below it.
inline constexpr uint64_t user_limit = 0x0000800000000000ull;

/// Page size the segment layout is checked against (bytes).
inline constexpr uint64_t page_size = 0x1000;

/// Why Image::parse rejected a file. `ok` is the only success value.
enum class Error : int {
  ok,
  too_small,             ///< shorter than the 64-byte ELF header
  bad_magic,             ///< does not start with "\x7fELF"
  not_64bit,             ///< EI_CLASS is not ELFCLASS64
  not_little_endian,     ///< EI_DATA is not ELFDATA2LSB
  not_x86_64,            ///< e_machine is not EM_X86_64
  not_executable,        ///< e_type is not ET_EXEC (e.g. a PIE or object file)
  bad_program_headers,   ///< program header table out of bounds or malformed
  bad_segment,           ///< a PT_LOAD outside the file, filesz > memsz, empty, or address overflow
  kernel_address,        ///< a PT_LOAD reaches at or above user_limit
  overlapping_segments,  ///< PT_LOADs not sorted by address or sharing a page
  no_segments,           ///< no PT_LOAD at all
};

/// Static, human-readable description of `e` (never null; "unknown error" for
/// values outside the enum).
const char* error_string(Error e);

/// One PT_LOAD segment. Addresses and sizes are in bytes. The bytes
/// [file_offset, file_offset + filesz) of the file are loaded at vaddr; the
/// rest of [vaddr, vaddr + memsz) is zero-filled.
struct Segment {
  uint64_t vaddr;
  uint64_t memsz;
  uint64_t file_offset;
  uint64_t filesz;
  bool readable;
  bool writable;
  bool executable;
};

/// A validated ELF64 x86-64 executable (a view over caller-owned bytes).
class Image {
 public:
  /// Validates `data[0, size)` and on success fills `out`. Checks: ELF64,
  /// little-endian, EM_X86_64, ET_EXEC; the program header table lies in the
  /// file; every PT_LOAD has memsz > 0, filesz <= memsz, file bytes inside the
  /// file, no address overflow, vaddr + memsz <= user_limit; PT_LOADs are
  /// sorted by vaddr and no two touch the same 4 KiB page; at least one
  /// PT_LOAD. Section headers are not required (see find_symbol). On error
  /// `out` is left unchanged.
  static Error parse(const void* data, size_t size, Image& out);

  /// Entry point virtual address (e_entry).
  uint64_t entry() const { return entry_; }

  /// Number of PT_LOAD segments (other program header types are skipped).
  size_t segment_count() const { return load_count_; }

  /// The i-th PT_LOAD in file (= address) order. For i >= segment_count()
  /// returns an all-zero Segment.
  Segment segment(size_t i) const;

  /// The file bytes the image was parsed from.
  const uint8_t* data() const { return data_; }

  /// File size in bytes.
  size_t size() const { return size_; }

  /// Looks `name` (NUL-terminated) up in every SHT_SYMTAB section, using the
  /// string table named by its sh_link. Only defined symbols (st_shndx !=
  /// SHN_UNDEF) match. Returns true and sets `value` (st_value) if found;
  /// returns false, leaving `value` unchanged, if the symbol is absent, the
  /// image has no section headers, or any table involved is malformed or out
  /// of bounds.
  bool find_symbol(const char* name, uint64_t& value) const;

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  uint64_t entry_ = 0;
  uint64_t phoff_ = 0;
  uint16_t phentsize_ = 0;
  uint16_t phnum_ = 0;
  size_t load_count_ = 0;
};

}  // namespace cos::elf
