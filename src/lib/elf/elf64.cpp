// ELF64 reader: validation in Image::parse, lookups on the validated image.
// Freestanding-safe: no library calls, byte-wise little-endian loads.
#include "elf/elf64.hpp"

namespace cos::elf {
namespace {

// ELF constants (System V gABI, x86-64 psABI).
constexpr uint8_t elfclass64 = 2;
constexpr uint8_t elfdata2lsb = 1;
constexpr uint16_t et_exec = 2;
constexpr uint16_t em_x86_64 = 62;
constexpr uint16_t pn_xnum = 0xffff;
constexpr uint32_t pt_load = 1;
constexpr uint32_t pf_x = 1, pf_w = 2, pf_r = 4;
constexpr uint32_t sht_symtab = 2, sht_strtab = 3;
constexpr uint16_t shn_undef = 0;

constexpr size_t ehdr_size = 64;
constexpr size_t phdr_size = 56;
constexpr size_t shdr_size = 64;
constexpr size_t sym_size = 24;

uint16_t load16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t load32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}
uint64_t load64(const uint8_t* p) { return uint64_t(load32(p)) | (uint64_t(load32(p + 4)) << 32); }

// True if [off, off + len) lies inside a buffer of `size` bytes (overflow-safe).
bool in_bounds(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

uint64_t page_down(uint64_t a) { return a & ~(page_size - 1); }
uint64_t page_up(uint64_t a) { return (a + page_size - 1) & ~(page_size - 1); }

// Program header fields used here (p points at a validated entry).
struct Phdr {
  uint32_t type, flags;
  uint64_t offset, vaddr, filesz, memsz;
};
Phdr read_phdr(const uint8_t* p) {
  return {load32(p), load32(p + 4), load64(p + 8), load64(p + 16), load64(p + 32), load64(p + 40)};
}

// Checks one PT_LOAD on its own (not against its neighbours).
Error check_load(const Phdr& ph, uint64_t file_size) {
  if (ph.memsz == 0 || ph.filesz > ph.memsz) return Error::bad_segment;
  if (!in_bounds(ph.offset, ph.filesz, file_size)) return Error::bad_segment;
  if (ph.vaddr + ph.memsz < ph.vaddr) return Error::bad_segment;  // wraps
  if (ph.vaddr + ph.memsz > user_limit) return Error::kernel_address;
  return Error::ok;
}

// Compares a NUL-terminated `name` with the string at strtab[off], which must
// be NUL-terminated inside the table.
bool name_matches(const uint8_t* strtab, uint64_t strtab_size, uint64_t off, const char* name) {
  for (uint64_t i = 0;; ++i) {
    if (off + i >= strtab_size) return false;  // unterminated
    const uint8_t c = strtab[off + i];
    if (c != uint8_t(name[i])) return false;
    if (c == 0) return true;
  }
}

}  // namespace

const char* error_string(Error e) {
  switch (e) {
    case Error::ok: return "ok";
    case Error::too_small: return "file too small for an ELF header";
    case Error::bad_magic: return "not an ELF file (bad magic)";
    case Error::not_64bit: return "not a 64-bit ELF file";
    case Error::not_little_endian: return "not a little-endian ELF file";
    case Error::not_x86_64: return "not an x86-64 ELF file";
    case Error::not_executable: return "not a static executable (ET_EXEC)";
    case Error::bad_program_headers: return "malformed program header table";
    case Error::bad_segment: return "malformed loadable segment";
    case Error::kernel_address: return "loadable segment outside the user address range";
    case Error::overlapping_segments: return "loadable segments unsorted or overlapping";
    case Error::no_segments: return "no loadable segments";
  }
  return "unknown error";
}

Error Image::parse(const void* data, size_t size, Image& out) {
  const auto* d = static_cast<const uint8_t*>(data);
  if (d == nullptr || size < ehdr_size) return Error::too_small;
  if (d[0] != 0x7f || d[1] != 'E' || d[2] != 'L' || d[3] != 'F') return Error::bad_magic;
  if (d[4] != elfclass64) return Error::not_64bit;
  if (d[5] != elfdata2lsb) return Error::not_little_endian;
  if (load16(d + 18) != em_x86_64) return Error::not_x86_64;
  if (load16(d + 16) != et_exec) return Error::not_executable;

  const uint64_t phoff = load64(d + 32);
  const uint16_t phentsize = load16(d + 54);
  const uint16_t phnum = load16(d + 56);
  if (phnum == pn_xnum || (phnum != 0 && phentsize < phdr_size)) return Error::bad_program_headers;
  if (!in_bounds(phoff, uint64_t(phnum) * phentsize, size)) return Error::bad_program_headers;

  size_t loads = 0;
  uint64_t prev_end_page = 0;
  for (uint16_t i = 0; i < phnum; ++i) {
    const Phdr ph = read_phdr(d + phoff + uint64_t(i) * phentsize);
    if (ph.type != pt_load) continue;
    const Error e = check_load(ph, size);
    if (e != Error::ok) return e;
    if (loads > 0 && page_down(ph.vaddr) < prev_end_page) return Error::overlapping_segments;
    prev_end_page = page_up(ph.vaddr + ph.memsz);
    ++loads;
  }
  if (loads == 0) return Error::no_segments;

  out.data_ = d;
  out.size_ = size;
  out.entry_ = load64(d + 24);
  out.phoff_ = phoff;
  out.phentsize_ = phentsize;
  out.phnum_ = phnum;
  out.load_count_ = loads;
  return Error::ok;
}

Segment Image::segment(size_t i) const {
  Segment s{0, 0, 0, 0, false, false, false};
  size_t seen = 0;
  for (uint16_t k = 0; k < phnum_; ++k) {
    const Phdr ph = read_phdr(data_ + phoff_ + uint64_t(k) * phentsize_);
    if (ph.type != pt_load) continue;
    if (seen++ != i) continue;
    s.vaddr = ph.vaddr;
    s.memsz = ph.memsz;
    s.file_offset = ph.offset;
    s.filesz = ph.filesz;
    s.readable = (ph.flags & pf_r) != 0;
    s.writable = (ph.flags & pf_w) != 0;
    s.executable = (ph.flags & pf_x) != 0;
    break;
  }
  return s;
}

bool Image::find_symbol(const char* name, uint64_t& value) const {
  if (data_ == nullptr || name == nullptr) return false;
  const uint64_t shoff = load64(data_ + 40);
  const uint16_t shentsize = load16(data_ + 58);
  const uint16_t shnum = load16(data_ + 60);
  if (shoff == 0 || shnum == 0 || shentsize < shdr_size) return false;
  if (!in_bounds(shoff, uint64_t(shnum) * shentsize, size_)) return false;

  for (uint16_t s = 0; s < shnum; ++s) {
    const uint8_t* sh = data_ + shoff + uint64_t(s) * shentsize;
    if (load32(sh + 4) != sht_symtab) continue;
    const uint64_t sym_off = load64(sh + 24), sym_bytes = load64(sh + 32);
    const uint32_t link = load32(sh + 40);
    const uint64_t entsize = load64(sh + 56);
    if (entsize < sym_size || !in_bounds(sym_off, sym_bytes, size_) || link >= shnum) continue;

    const uint8_t* st = data_ + shoff + uint64_t(link) * shentsize;
    if (load32(st + 4) != sht_strtab) continue;
    const uint64_t str_off = load64(st + 24), str_bytes = load64(st + 32);
    if (!in_bounds(str_off, str_bytes, size_)) continue;

    const uint64_t count = sym_bytes / entsize;
    for (uint64_t k = 0; k < count; ++k) {
      const uint8_t* sym = data_ + sym_off + k * entsize;
      if (load16(sym + 6) == shn_undef) continue;
      if (name_matches(data_ + str_off, str_bytes, load32(sym), name)) {
        value = load64(sym + 8);
        return true;
      }
    }
  }
  return false;
}

}  // namespace cos::elf
