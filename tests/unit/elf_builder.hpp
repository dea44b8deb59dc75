// Test helper: builds small ELF64 files in memory, valid or deliberately
// broken, so ELF reader and composer tests need no toolchain output.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cos::test {

/// One program header. `filesz` bytes of pattern data are placed in the file
/// at a page-aligned offset (or at `offset` if non-zero).
struct SegmentSpec {
  uint32_t type = 1;  // PT_LOAD
  uint32_t flags = 5; // PF_R | PF_X
  uint64_t vaddr = 0x400000;
  uint64_t memsz = 0x1000;
  uint64_t filesz = 0x100;
  uint64_t offset = 0;  // 0: allocate one
};

/// One symbol-table entry (defined, absolute, unless `undefined`).
struct SymbolSpec {
  std::string name;
  uint64_t value = 0;
  bool undefined = false;
};

/// Header fields and contents of the file to build.
struct ElfSpec {
  uint8_t elf_class = 2;   // ELFCLASS64
  uint8_t data = 1;        // ELFDATA2LSB
  uint16_t type = 2;       // ET_EXEC
  uint16_t machine = 62;   // EM_X86_64
  uint64_t entry = 0x400000;
  std::vector<SegmentSpec> segments = std::vector<SegmentSpec>(1);  // one default segment
  std::vector<SymbolSpec> symbols;  // non-empty: emit .symtab/.strtab section headers
};

namespace detail {
inline void put(std::vector<uint8_t>& b, size_t at, uint64_t v, int n) {
  if (b.size() < at + size_t(n)) b.resize(at + size_t(n), 0);
  for (int i = 0; i < n; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}
inline size_t page_align(size_t n) { return (n + 0xfff) & ~size_t(0xfff); }
}  // namespace detail

/// Serializes `spec`. Layout: ELF header, program headers, segment data at
/// page-aligned offsets, then symtab, strtab and section headers.
inline std::vector<uint8_t> build_elf(const ElfSpec& spec) {
  using detail::put;
  std::vector<uint8_t> b(64, 0);
  b[0] = 0x7f, b[1] = 'E', b[2] = 'L', b[3] = 'F';
  b[4] = spec.elf_class, b[5] = spec.data, b[6] = 1;
  put(b, 16, spec.type, 2);
  put(b, 18, spec.machine, 2);
  put(b, 20, 1, 4);
  put(b, 24, spec.entry, 8);
  put(b, 32, 64, 8);  // e_phoff
  put(b, 52, 64, 2);  // e_ehsize
  put(b, 54, 56, 2);  // e_phentsize
  put(b, 56, spec.segments.size(), 2);

  size_t next = detail::page_align(64 + 56 * spec.segments.size());
  for (size_t i = 0; i < spec.segments.size(); ++i) {
    const SegmentSpec& s = spec.segments[i];
    const size_t off = s.offset != 0 ? s.offset : next;
    const size_t ph = 64 + 56 * i;
    put(b, ph + 0, s.type, 4);
    put(b, ph + 4, s.flags, 4);
    put(b, ph + 8, off, 8);
    put(b, ph + 16, s.vaddr, 8);
    put(b, ph + 24, s.vaddr, 8);
    put(b, ph + 32, s.filesz, 8);
    put(b, ph + 40, s.memsz, 8);
    put(b, ph + 48, 0x1000, 8);
    if (s.offset == 0 && s.filesz < (1u << 20)) {
      for (size_t k = 0; k < s.filesz; ++k) put(b, off + k, uint8_t(0x90 + k), 1);
      next = detail::page_align(off + s.filesz + 1);
    }
  }
  if (spec.symbols.empty()) return b;

  // .strtab
  std::vector<uint8_t> strtab = {0};
  std::vector<uint32_t> name_off;
  for (const SymbolSpec& s : spec.symbols) {
    name_off.push_back(uint32_t(strtab.size()));
    strtab.insert(strtab.end(), s.name.begin(), s.name.end());
    strtab.push_back(0);
  }
  const size_t symtab_off = (b.size() + 7) & ~size_t(7);
  const size_t symtab_size = 24 * (spec.symbols.size() + 1);  // entry 0 is the null symbol
  put(b, symtab_off + symtab_size - 1, 0, 1);
  for (size_t i = 0; i < spec.symbols.size(); ++i) {
    const size_t e = symtab_off + 24 * (i + 1);
    put(b, e + 0, name_off[i], 4);
    put(b, e + 4, 0x12, 1);  // STB_GLOBAL, STT_FUNC
    put(b, e + 6, spec.symbols[i].undefined ? 0 : 0xfff1, 2);  // SHN_UNDEF / SHN_ABS
    put(b, e + 8, spec.symbols[i].value, 8);
  }
  const size_t strtab_off = symtab_off + symtab_size;
  b.insert(b.end(), strtab.begin(), strtab.end());

  const size_t shoff = (b.size() + 7) & ~size_t(7);
  put(b, shoff + 3 * 64 - 1, 0, 1);  // [0] null, [1] .symtab, [2] .strtab
  put(b, shoff + 64 + 4, 2, 4);      // SHT_SYMTAB
  put(b, shoff + 64 + 24, symtab_off, 8);
  put(b, shoff + 64 + 32, symtab_size, 8);
  put(b, shoff + 64 + 40, 2, 4);  // sh_link -> .strtab
  put(b, shoff + 64 + 56, 24, 8);
  put(b, shoff + 128 + 4, 3, 4);  // SHT_STRTAB
  put(b, shoff + 128 + 24, strtab_off, 8);
  put(b, shoff + 128 + 32, strtab.size(), 8);
  put(b, 40, shoff, 8);
  put(b, 58, 64, 2);
  put(b, 60, 3, 2);
  return b;
}

/// A typical component image: text at 0x400000 (R+X), data at 0x402000
/// (R+W, with bss), and a symbol table holding _start and, if `sinv`,
/// __cos_sinv_entry = 0x400010.
inline std::vector<uint8_t> component_elf(bool sinv) {
  ElfSpec spec;
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0x1000, 0x200, 0}, SegmentSpec{1, 6, 0x402000, 0x3000, 0x80, 0}};
  spec.symbols = {{"_start", 0x400000, false}};
  if (sinv) spec.symbols.push_back({"__cos_sinv_entry", 0x400010, false});
  return build_elf(spec);
}

}  // namespace cos::test
