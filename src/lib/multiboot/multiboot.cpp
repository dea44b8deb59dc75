#include "multiboot/multiboot.hpp"

namespace cos::multiboot {
namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}
uint64_t le64(const uint8_t* p) { return le32(p) | static_cast<uint64_t>(le32(p + 4)) << 32; }

Error fail(Error e, Detail* d, uint64_t offset = 0, uint64_t value = 0, unsigned index = 0) {
  if (d) *d = Detail{offset, value, index};
  return e;
}

// [off, off + len) lies inside [0, size) (overflow-safe).
bool inside(uint64_t off, uint64_t len, uint64_t size) { return off <= size && len <= size - off; }

void add_extent(Image& img, uint64_t addr, uint64_t mem) {
  if (img.segment_count == 1 || addr < img.load_start) img.load_start = addr;
  if (addr + mem > img.load_end) img.load_end = addr + mem;
}

Error parse_aout(const uint8_t* d, size_t size, Image& img, Detail* det) {
  const uint32_t h = img.header_offset;
  if (!inside(h, 32, size)) return fail(Error::truncated_header, det, h);
  const uint32_t header_addr = le32(d + h + 12), load_addr = le32(d + h + 16), load_end = le32(d + h + 20),
                 bss_end = le32(d + h + 24), entry = le32(d + h + 28);
  if (load_addr > header_addr) return fail(Error::bad_load_addr, det, h, load_addr);
  const uint64_t delta = header_addr - load_addr;  // bytes before the header that are loaded
  if (delta > h) return fail(Error::load_outside_file, det, h, load_addr);
  const uint64_t file_offset = h - delta;
  uint64_t file_size;
  if (load_end == 0) {
    file_size = size - file_offset;
  } else {
    if (load_end < load_addr) return fail(Error::bad_load_end, det, h, load_end);
    file_size = load_end - load_addr;
    if (!inside(file_offset, file_size, size)) return fail(Error::load_outside_file, det, file_offset, load_end);
  }
  uint64_t mem_size = file_size;
  if (bss_end != 0) {
    if (bss_end < load_addr + file_size) return fail(Error::bad_bss_end, det, h, bss_end);
    mem_size = bss_end - load_addr;
  }
  if (load_addr + mem_size > (1ull << 32)) return fail(Error::segment_above_4g, det, h, load_addr + mem_size);
  img.segments[0] = Segment{file_offset, file_size, load_addr, mem_size};
  img.segment_count = 1;
  add_extent(img, load_addr, mem_size);
  if (entry < load_addr || entry >= load_addr + mem_size) return fail(Error::entry_outside_image, det, h, entry);
  img.entry = entry;
  return Error::ok;
}

Error parse_elf(const uint8_t* d, size_t size, Image& img, Detail* det) {
  if (size < 52 || d[0] != 0x7f || d[1] != 'E' || d[2] != 'L' || d[3] != 'F') return fail(Error::not_elf, det);
  const bool is64 = d[4] == 2;
  if ((d[4] != 1 && d[4] != 2) || d[5] != 1 || d[6] != 1) return fail(Error::bad_elf, det, 4);
  if (is64 && size < 64) return fail(Error::bad_elf, det, 0, size);
  const uint16_t type = le16(d + 16), machine = le16(d + 18);
  if (type != 2) return fail(Error::bad_elf, det, 16, type);  // ET_EXEC
  if (machine != (is64 ? 62 : 3)) return fail(Error::bad_elf, det, 18, machine);  // EM_X86_64 / EM_386
  const uint64_t entry = is64 ? le64(d + 24) : le32(d + 24);
  const uint64_t phoff = is64 ? le64(d + 32) : le32(d + 28);
  const uint16_t phentsize = le16(d + (is64 ? 54 : 42)), phnum = le16(d + (is64 ? 56 : 44));
  if (phentsize < (is64 ? 56u : 32u) || !inside(phoff, uint64_t(phentsize) * phnum, size))
    return fail(Error::bad_elf, det, phoff, phnum);
  img.elf64 = is64;
  uint64_t entry_pa = 0;
  bool entry_found = false;
  for (unsigned i = 0; i < phnum; ++i) {
    const uint8_t* p = d + phoff + uint64_t(i) * phentsize;
    if (le32(p) != 1) continue;  // PT_LOAD
    uint64_t offset, vaddr, paddr, filesz, memsz;
    if (is64) {
      offset = le64(p + 8), vaddr = le64(p + 16), paddr = le64(p + 24), filesz = le64(p + 32), memsz = le64(p + 40);
    } else {
      offset = le32(p + 4), vaddr = le32(p + 8), paddr = le32(p + 12), filesz = le32(p + 16), memsz = le32(p + 20);
    }
    if (memsz == 0) continue;
    if (img.segment_count == kMaxSegments) return fail(Error::too_many_segments, det, 0, phnum);
    if (filesz > memsz || !inside(offset, filesz, size)) return fail(Error::segment_outside_file, det, offset, filesz, i);
    if (paddr >= (1ull << 32) || memsz > (1ull << 32) - paddr) return fail(Error::segment_above_4g, det, 0, paddr, i);
    img.segments[img.segment_count++] = Segment{offset, filesz, paddr, memsz};
    add_extent(img, paddr, memsz);
    if (!entry_found && entry >= vaddr && entry - vaddr < memsz) {
      entry_pa = paddr + (entry - vaddr);
      entry_found = true;
    }
  }
  if (img.segment_count == 0) return fail(Error::no_segments, det);
  if (!entry_found) {
    // An entry already given as a physical address.
    for (unsigned i = 0; i < img.segment_count && !entry_found; ++i) {
      const Segment& s = img.segments[i];
      if (entry >= s.addr && entry - s.addr < s.mem_size) entry_pa = entry, entry_found = true;
    }
  }
  if (!entry_found) return fail(Error::entry_outside_image, det, 24, entry);
  img.entry = static_cast<uint32_t>(entry_pa);
  return Error::ok;
}

}  // namespace

Error parse(const uint8_t* data, size_t size, Image& out, Detail* detail) {
  out = Image{};
  const size_t limit = size < kSearchBytes ? size : kSearchBytes;
  bool magic_seen = false;
  uint32_t bad_at = 0;
  for (size_t off = 0; off + 12 <= limit; off += 4) {
    if (le32(data + off) != kHeaderMagic) continue;
    const uint32_t flags = le32(data + off + 4), checksum = le32(data + off + 8);
    // The whole header lies in the first 8192 bytes: with the a.out
    // kludge that includes its address fields.
    if ((flags & kFlagAoutKludge) && off + 32 > limit && size >= kSearchBytes) continue;
    if (static_cast<uint32_t>(kHeaderMagic + flags + checksum) != 0) {
      if (!magic_seen) bad_at = static_cast<uint32_t>(off);
      magic_seen = true;
      continue;
    }
    out.header_offset = static_cast<uint32_t>(off);
    out.flags = flags;
    if (flags & kFlagVideoMode) return fail(Error::video_mode, detail, off, flags);
    const uint32_t unknown = flags & 0xffffu & ~kSupportedRequired;
    if (unknown) return fail(Error::unsupported_flags, detail, off, unknown);
    out.aout_kludge = (flags & kFlagAoutKludge) != 0;
    return out.aout_kludge ? parse_aout(data, size, out, detail) : parse_elf(data, size, out, detail);
  }
  if (magic_seen) return fail(Error::bad_checksum, detail, bad_at);
  return fail(Error::no_header, detail);
}

const char* error_string(Error e) {
  switch (e) {
    case Error::ok: return "ok";
    case Error::no_header: return "no Multiboot header (magic 0x1BADB002) in its first 8192 bytes";
    case Error::bad_checksum: return "its Multiboot header has a bad checksum (magic + flags + checksum != 0)";
    case Error::video_mode: return "its Multiboot header requires a video mode (flags bit 2), which is not provided";
    case Error::unsupported_flags: return "its Multiboot header requires features this loader does not know (flags bits 3-15)";
    case Error::truncated_header: return "the file ends inside its Multiboot header's address fields";
    case Error::bad_load_addr: return "its Multiboot load_addr is above header_addr";
    case Error::load_outside_file: return "its Multiboot load range (load_addr to load_end_addr) is not inside the file";
    case Error::bad_load_end: return "its Multiboot load_end_addr is below load_addr";
    case Error::bad_bss_end: return "its Multiboot bss_end_addr is below load_end_addr";
    case Error::not_elf: return "it has no a.out kludge (flags bit 16) and is not an ELF file";
    case Error::bad_elf: return "it is not a little-endian ELF32 (EM_386) or ELF64 (EM_X86_64) executable";
    case Error::no_segments: return "its ELF file has no loadable segment";
    case Error::too_many_segments: return "its ELF file has more than 16 loadable segments";
    case Error::segment_outside_file: return "an ELF segment's bytes are not inside the file";
    case Error::segment_above_4g: return "it loads above 4 GiB";
    case Error::entry_outside_image: return "its entry point is not inside what is loaded";
  }
  return "unknown error";
}

}  // namespace cos::multiboot
