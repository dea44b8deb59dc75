// The Multiboot (v1) image reader (src/lib/multiboot: header search, flags,
// the a.out kludge, ELF32/ELF64 segments and entry) on hand-made images and
// on the test kernel the build makes (guest/multiboot: mbtest.elf and the
// a.out-kludge flat binary mbtest_aout.bin), and the module pack reader
// (cos/guest_modules.hpp).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cos/guest_modules.hpp"
#include "multiboot/multiboot.hpp"

namespace {

namespace mb = cos::multiboot;
using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, size_t at, uint32_t v) {
  b[at] = uint8_t(v), b[at + 1] = uint8_t(v >> 8);
}
void put32(Bytes& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + size_t(i)] = uint8_t(v >> (8 * i));
}
void put64(Bytes& b, size_t at, uint64_t v) {
  put32(b, at, uint32_t(v));
  put32(b, at + 4, uint32_t(v >> 32));
}

// A header at `at` with `flags` and the right checksum.
void header(Bytes& b, size_t at, uint32_t flags) {
  put32(b, at, mb::kHeaderMagic);
  put32(b, at + 4, flags);
  put32(b, at + 8, uint32_t(-(mb::kHeaderMagic + flags)));
}

// A flat a.out-kludge image: loaded at 0x100000, the header at `hoff`.
Bytes aout(size_t size = 0x3000, uint32_t hoff = 0x40, uint32_t load_end = 0x102000, uint32_t bss_end = 0x105000,
           uint32_t entry = 0x100080) {
  Bytes b(size, 0x90);
  header(b, hoff, mb::kFlagAoutKludge | mb::kFlagPageAlign | mb::kFlagMemoryInfo);
  put32(b, hoff + 12, 0x100000 + hoff);  // header_addr
  put32(b, hoff + 16, 0x100000);         // load_addr
  put32(b, hoff + 20, load_end);
  put32(b, hoff + 24, bss_end);
  put32(b, hoff + 28, entry);
  return b;
}

struct Seg {
  uint32_t offset, vaddr, paddr, filesz, memsz;
};
// An ELF32 EM_386 executable with the Multiboot header at `hoff`.
Bytes elf32(const std::vector<Seg>& segs, uint32_t entry, uint32_t hoff = 0x1000, size_t size = 0x4000) {
  Bytes b(size, 0);
  b[0] = 0x7f, b[1] = 'E', b[2] = 'L', b[3] = 'F', b[4] = 1, b[5] = 1, b[6] = 1;
  put16(b, 16, 2);   // ET_EXEC
  put16(b, 18, 3);   // EM_386
  put32(b, 20, 1);
  put32(b, 24, entry);
  put32(b, 28, 52);  // phoff
  put16(b, 40, 52);
  put16(b, 42, 32);
  put16(b, 44, uint16_t(segs.size() + 1));
  for (size_t i = 0; i < segs.size(); ++i) {
    const size_t p = 52 + 32 * i;
    put32(b, p, 1);  // PT_LOAD
    put32(b, p + 4, segs[i].offset);
    put32(b, p + 8, segs[i].vaddr);
    put32(b, p + 12, segs[i].paddr);
    put32(b, p + 16, segs[i].filesz);
    put32(b, p + 20, segs[i].memsz);
  }
  put32(b, 52 + 32 * segs.size(), 0x6474e551);  // PT_GNU_STACK: ignored
  header(b, hoff, mb::kFlagPageAlign | mb::kFlagMemoryInfo);
  return b;
}

mb::Error parse(const Bytes& b, mb::Image& img, mb::Detail* d = nullptr) { return mb::parse(b.data(), b.size(), img, d); }
mb::Error parse(const Bytes& b) {
  mb::Image img;
  return parse(b, img);
}

Bytes read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(Multiboot, AoutKludge) {
  mb::Image img;
  ASSERT_EQ(parse(aout(), img), mb::Error::ok);
  EXPECT_TRUE(img.aout_kludge);
  EXPECT_EQ(img.header_offset, 0x40u);
  ASSERT_EQ(img.segment_count, 1u);
  EXPECT_EQ(img.segments[0].file_offset, 0u);
  EXPECT_EQ(img.segments[0].file_size, 0x2000u);
  EXPECT_EQ(img.segments[0].addr, 0x100000u);
  EXPECT_EQ(img.segments[0].mem_size, 0x5000u);
  EXPECT_EQ(img.load_start, 0x100000u);
  EXPECT_EQ(img.load_end, 0x105000u);
  EXPECT_EQ(img.entry, 0x100080u);
}

TEST(Multiboot, AoutKludgeZeroFieldsMeanWholeFileNoBss) {
  mb::Image img;
  ASSERT_EQ(parse(aout(0x1800, 0x40, 0, 0), img), mb::Error::ok);
  EXPECT_EQ(img.segments[0].file_size, 0x1800u);
  EXPECT_EQ(img.segments[0].mem_size, 0x1800u);
  // The header need not be at the start of what is loaded: bytes before the
  // load address in the file are skipped.
  Bytes b = aout(0x3000, 0x1000);
  put32(b, 0x1000 + 12, 0x200000);  // header_addr: the header is 0x1000 into the file...
  put32(b, 0x1000 + 16, 0x200000);  // ...and loading starts there
  put32(b, 0x1000 + 20, 0x201000);
  put32(b, 0x1000 + 24, 0);
  put32(b, 0x1000 + 28, 0x200010);
  ASSERT_EQ(parse(b, img), mb::Error::ok);
  EXPECT_EQ(img.segments[0].file_offset, 0x1000u);
  EXPECT_EQ(img.segments[0].addr, 0x200000u);
}

TEST(Multiboot, AoutKludgeErrors) {
  Bytes b = aout();
  put32(b, 0x40 + 16, 0x100100);  // load_addr above header_addr
  EXPECT_EQ(parse(b), mb::Error::bad_load_addr);
  b = aout();
  put32(b, 0x40 + 16, 0xf0000);  // would start 0x10040 bytes before the file
  EXPECT_EQ(parse(b), mb::Error::load_outside_file);
  EXPECT_EQ(parse(aout(0x1000)), mb::Error::load_outside_file);  // load_end beyond the file
  EXPECT_EQ(parse(aout(0x3000, 0x40, 0xff000)), mb::Error::bad_load_end);
  EXPECT_EQ(parse(aout(0x3000, 0x40, 0x102000, 0x101000)), mb::Error::bad_bss_end);
  EXPECT_EQ(parse(aout(0x3000, 0x40, 0x102000, 0x105000, 0x105000)), mb::Error::entry_outside_image);
  EXPECT_EQ(parse(aout(0x3000, 0x40, 0x102000, 0x105000, 0xfffff)), mb::Error::entry_outside_image);
  Bytes short_file(0x48, 0);
  header(short_file, 0x38, mb::kFlagAoutKludge);
  EXPECT_EQ(parse(short_file), mb::Error::truncated_header);
}

TEST(Multiboot, HeaderSearchAndFlags) {
  // The header must lie completely in the first 8192 bytes: 8192 - 12 is
  // the last place for magic, flags and checksum (then the file is
  // checked as ELF), 8192 - 32 with the a.out kludge's address fields.
  Bytes b(0x4000, 0);
  header(b, 8180, mb::kFlagMemoryInfo);
  EXPECT_EQ(parse(b), mb::Error::not_elf);
  Bytes late(0x4000, 0);
  header(late, 8184, mb::kFlagMemoryInfo);
  EXPECT_EQ(parse(late), mb::Error::no_header);
  EXPECT_EQ(parse(aout(0x4000, 8160, 0x100000 + 0x3000)), mb::Error::ok);
  EXPECT_EQ(parse(aout(0x4000, 8164)), mb::Error::no_header);
  Bytes unaligned(0x3000, 0);
  header(unaligned, 0x42, mb::kFlagAoutKludge);
  EXPECT_EQ(parse(unaligned), mb::Error::no_header);
  Bytes bad = aout();
  put32(bad, 0x48, 0x12345678);
  mb::Image img;
  mb::Detail d;
  EXPECT_EQ(parse(bad, img, &d), mb::Error::bad_checksum);
  EXPECT_EQ(d.offset, 0x40u);
  Bytes video(0x3000, 0);
  header(video, 0, mb::kFlagVideoMode);
  EXPECT_EQ(parse(video), mb::Error::video_mode);
  Bytes unknown(0x3000, 0);
  header(unknown, 0, 1u << 5);
  EXPECT_EQ(parse(unknown, img, &d), mb::Error::unsupported_flags);
  EXPECT_EQ(d.value, 1u << 5);
  // Optional bits 17-31 are ignored.
  Bytes optional = aout();
  header(optional, 0x40, mb::kFlagAoutKludge | (1u << 20));
  EXPECT_EQ(parse(optional), mb::Error::ok);
  Bytes nothing(100, 0);
  EXPECT_EQ(parse(nothing), mb::Error::no_header);
  EXPECT_EQ(mb::parse(nullptr, 0, img), mb::Error::no_header);
}

TEST(Multiboot, Elf32SegmentsAndEntry) {
  mb::Image img;
  const Bytes b = elf32({{0x1000, 0x100000, 0x100000, 0x1000, 0x1000}, {0x2000, 0x102000, 0x102000, 0x10, 0x3000}},
                        0x10000c);
  ASSERT_EQ(parse(b, img), mb::Error::ok);
  EXPECT_FALSE(img.aout_kludge);
  EXPECT_FALSE(img.elf64);
  ASSERT_EQ(img.segment_count, 2u);
  EXPECT_EQ(img.segments[1].file_offset, 0x2000u);
  EXPECT_EQ(img.segments[1].file_size, 0x10u);
  EXPECT_EQ(img.segments[1].mem_size, 0x3000u);
  EXPECT_EQ(img.load_start, 0x100000u);
  EXPECT_EQ(img.load_end, 0x105000u);
  EXPECT_EQ(img.entry, 0x10000cu);
}

TEST(Multiboot, ElfHigherHalfEntryIsTranslated) {
  mb::Image img;
  // Linked at 0xc0100000, loaded at 1 MiB: the entry becomes physical.
  ASSERT_EQ(parse(elf32({{0x1000, 0xc0100000, 0x100000, 0x1000, 0x1000}}, 0xc0100010), img), mb::Error::ok);
  EXPECT_EQ(img.entry, 0x100010u);
  // An entry already given physically works too.
  ASSERT_EQ(parse(elf32({{0x1000, 0xc0100000, 0x100000, 0x1000, 0x1000}}, 0x100020), img), mb::Error::ok);
  EXPECT_EQ(img.entry, 0x100020u);
}

TEST(Multiboot, ElfErrors) {
  mb::Image img;
  mb::Detail d;
  EXPECT_EQ(parse(elf32({{0x1000, 0x100000, 0x100000, 0x1000, 0x1000}}, 0x200000), img, &d),
            mb::Error::entry_outside_image);
  EXPECT_EQ(d.value, 0x200000u);
  EXPECT_EQ(parse(elf32({{0x3800, 0x100000, 0x100000, 0x1000, 0x1000}}, 0x100000), img, &d),
            mb::Error::segment_outside_file);
  EXPECT_EQ(parse(elf32({{0x1000, 0x100000, 0x100000, 0x2000, 0x1000}}, 0x100000)), mb::Error::segment_outside_file);
  EXPECT_EQ(parse(elf32({{0x1000, 0xfffff000, 0xfffff000, 0x1000, 0x2000}}, 0xfffff000)), mb::Error::segment_above_4g);
  EXPECT_EQ(parse(elf32({}, 0x100000)), mb::Error::no_segments);
  EXPECT_EQ(parse(elf32({{0x1000, 0x100000, 0x100000, 0, 0}}, 0x100000)), mb::Error::no_segments);  // empty
  std::vector<Seg> many(17, Seg{0x1000, 0x100000, 0x100000, 0x10, 0x10});
  EXPECT_EQ(parse(elf32(many, 0x100000)), mb::Error::too_many_segments);
  Bytes b = elf32({{0x1000, 0x100000, 0x100000, 0x1000, 0x1000}}, 0x100000);
  put16(b, 18, 62);  // EM_X86_64 in an ELF32 file
  EXPECT_EQ(parse(b), mb::Error::bad_elf);
  b = elf32({{0x1000, 0x100000, 0x100000, 0x1000, 0x1000}}, 0x100000);
  put16(b, 16, 3);  // ET_DYN
  EXPECT_EQ(parse(b), mb::Error::bad_elf);
  b = elf32({{0x1000, 0x100000, 0x100000, 0x1000, 0x1000}}, 0x100000);
  put32(b, 28, 0x3ff0);  // program headers beyond the file
  EXPECT_EQ(parse(b), mb::Error::bad_elf);
  b[0] = 'X';
  EXPECT_EQ(parse(b), mb::Error::not_elf);
}

TEST(Multiboot, Elf64) {
  Bytes b(0x4000, 0);
  b[0] = 0x7f, b[1] = 'E', b[2] = 'L', b[3] = 'F', b[4] = 2, b[5] = 1, b[6] = 1;
  put16(b, 16, 2);
  put16(b, 18, 62);
  put32(b, 20, 1);
  put64(b, 24, 0x200010);  // entry
  put64(b, 32, 64);        // phoff
  put16(b, 54, 56);
  put16(b, 56, 1);
  put32(b, 64, 1);
  put64(b, 64 + 8, 0x1000);      // offset
  put64(b, 64 + 16, 0x200000);   // vaddr
  put64(b, 64 + 24, 0x200000);   // paddr
  put64(b, 64 + 32, 0x800);      // filesz
  put64(b, 64 + 40, 0x2000);     // memsz
  header(b, 0x1000, mb::kFlagMemoryInfo);
  mb::Image img;
  ASSERT_EQ(parse(b, img), mb::Error::ok);
  EXPECT_TRUE(img.elf64);
  EXPECT_EQ(img.entry, 0x200010u);
  EXPECT_EQ(img.load_end, 0x202000u);
  put64(b, 64 + 24, 0x100000000ull);  // above 4 GiB
  EXPECT_EQ(parse(b), mb::Error::segment_above_4g);
}

TEST(Multiboot, ErrorStrings) {
  for (int e = 0; e <= int(mb::Error::entry_outside_image); ++e)
    EXPECT_STRNE(mb::error_string(mb::Error(e)), "unknown error") << e;
}

// The test kernel as the build makes it, in both forms.
TEST(Multiboot, BuiltTestKernels) {
  const Bytes elf = read_file(COS_MBTEST_ELF);
  const Bytes flat = read_file(COS_MBTEST_AOUT);
  ASSERT_FALSE(elf.empty());
  ASSERT_FALSE(flat.empty());
  mb::Image e, a;
  ASSERT_EQ(parse(elf, e), mb::Error::ok);
  ASSERT_EQ(parse(flat, a), mb::Error::ok);
  EXPECT_FALSE(e.aout_kludge);
  EXPECT_TRUE(a.aout_kludge);
  EXPECT_EQ(a.header_offset, 0u);
  EXPECT_EQ(e.entry, a.entry);  // the ELF's header is padded to the a.out one's 32 bytes
  EXPECT_EQ(e.load_start, 0x100000u);
  EXPECT_EQ(e.load_start, a.load_start);
  EXPECT_EQ(e.load_end, a.load_end);  // bss included in both
  EXPECT_GE(e.segment_count, 2u);     // code and data
  // The loaded bytes are the same (after the headers' flags, checksums and
  // address fields): the ELF's segments lie in the flat file.
  for (unsigned i = 0; i < e.segment_count; ++i) {
    const mb::Segment& s = e.segments[i];
    const uint64_t skip = s.addr == 0x100000 ? 32 : 0;
    ASSERT_LE(s.addr - 0x100000 + s.file_size, flat.size());
    EXPECT_EQ(0, std::memcmp(elf.data() + s.file_offset + skip, flat.data() + (s.addr - 0x100000) + skip,
                             s.file_size - skip))
        << i;
  }
}

// ---- the module pack

Bytes pack(const std::vector<std::pair<std::string, std::string>>& mods) {
  using namespace cos::guest;
  Bytes b(kModulesHeaderBytes + kModuleEntryBytes * mods.size(), 0);
  for (size_t i = 0; i < mods.size(); ++i) {
    const size_t e = kModulesHeaderBytes + kModuleEntryBytes * i;
    put32(b, e + 16, uint32_t(b.size()));
    put32(b, e + 20, uint32_t(mods[i].second.size()));
    b.insert(b.end(), mods[i].second.begin(), mods[i].second.end());
    b.push_back(0);
    put64(b, e, b.size());
    put64(b, e + 8, mods[i].first.size());
    b.insert(b.end(), mods[i].first.begin(), mods[i].first.end());
  }
  put32(b, 0, kModulesMagic);
  put32(b, 4, kModulesVersion);
  put32(b, 8, uint32_t(mods.size()));
  put32(b, 12, uint32_t(b.size()));
  return b;
}

TEST(ModulePack, ReadsModules) {
  const Bytes b = pack({{"hello", "greeting.txt lang=en"}, {"", ""}});
  const char* why = nullptr;
  ASSERT_EQ(cos::guest::modules_check(b.data(), b.size(), &why), 2) << why;
  const cos::guest::ModuleView m = cos::guest::module_at(b.data(), 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m.data), m.size), "hello");
  EXPECT_STREQ(m.cmdline, "greeting.txt lang=en");
  EXPECT_EQ(m.cmdline_size, 20u);
  EXPECT_EQ(cos::guest::module_at(b.data(), 1).size, 0u);
  EXPECT_EQ(cos::guest::modules_check(pack({}).data(), 16, nullptr), 0);
}

TEST(ModulePack, RejectsMalformedPacks) {
  const Bytes good = pack({{"hello", "a"}});
  auto check = [](Bytes b) { return cos::guest::modules_check(b.data(), b.size(), nullptr); };
  EXPECT_EQ(cos::guest::modules_check(good.data(), 15, nullptr), -1);
  Bytes b = good;
  b[0] = 'X';
  EXPECT_EQ(check(b), -1);
  b = good;
  put32(b, 4, 2);  // version
  EXPECT_EQ(check(b), -1);
  b = good;
  put32(b, 12, uint32_t(b.size() + 1));  // total beyond the buffer
  EXPECT_EQ(check(b), -1);
  b = good;
  put32(b, 8, 17);  // too many modules
  EXPECT_EQ(check(b), -1);
  b = good;
  put32(b, 8, 2);  // entries beyond the pack
  put32(b, 12, 50);
  EXPECT_EQ(check(b), -1);
  b = good;
  put64(b, 16 + 8, 100);  // data beyond the pack
  EXPECT_EQ(check(b), -1);
  b = good;
  put64(b, 16, ~0ull);  // data offset overflowing
  EXPECT_EQ(check(b), -1);
  b = good;
  put32(b, 16 + 20, 2);  // command line runs over its NUL
  EXPECT_EQ(check(b), -1);
  b = good;
  b[40] = 0;  // the 1-byte command line "a" (at 40, its NUL at 41) holds a NUL
  EXPECT_EQ(check(b), -1);
  b = good;
  put32(b, 16 + 20, 256);
  EXPECT_EQ(check(b), -1);
  EXPECT_EQ(check(good), 1);
}

}  // namespace
