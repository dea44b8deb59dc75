// Unit tests for the ELF64 reader (src/components/lib/elf/elf64.hpp).
#include "elf/elf64.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "unit/elf_builder.hpp"
#include "unit/test_rng.hpp"

namespace {

using cos::elf::Error;
using cos::elf::Image;
using cos::test::build_elf;
using cos::test::ElfSpec;
using cos::test::SegmentSpec;

Error parse(const std::vector<uint8_t>& b) {
  Image img;
  return Image::parse(b.data(), b.size(), img);
}

Error parse(const ElfSpec& spec) { return parse(build_elf(spec)); }

void put(std::vector<uint8_t>& b, size_t at, uint64_t v, int n) { cos::test::detail::put(b, at, v, n); }

TEST(Elf64, ParsesTypicalComponentImage) {
  const auto bytes = cos::test::component_elf(true);
  Image img;
  ASSERT_EQ(Image::parse(bytes.data(), bytes.size(), img), Error::ok);
  EXPECT_EQ(img.entry(), 0x400000u);
  EXPECT_EQ(img.data(), bytes.data());
  EXPECT_EQ(img.size(), bytes.size());
  ASSERT_EQ(img.segment_count(), 2u);

  const cos::elf::Segment text = img.segment(0);
  EXPECT_EQ(text.vaddr, 0x400000u);
  EXPECT_EQ(text.memsz, 0x1000u);
  EXPECT_EQ(text.filesz, 0x200u);
  EXPECT_EQ(text.file_offset % 0x1000, 0u);
  EXPECT_TRUE(text.readable);
  EXPECT_FALSE(text.writable);
  EXPECT_TRUE(text.executable);
  EXPECT_EQ(bytes[text.file_offset], 0x90);

  const cos::elf::Segment data = img.segment(1);
  EXPECT_EQ(data.vaddr, 0x402000u);
  EXPECT_EQ(data.memsz, 0x3000u);
  EXPECT_EQ(data.filesz, 0x80u);
  EXPECT_TRUE(data.readable);
  EXPECT_TRUE(data.writable);
  EXPECT_FALSE(data.executable);
}

TEST(Elf64, SegmentOutOfRangeIsZero) {
  const auto bytes = cos::test::component_elf(false);
  Image img;
  ASSERT_EQ(Image::parse(bytes.data(), bytes.size(), img), Error::ok);
  const cos::elf::Segment s = img.segment(2);
  EXPECT_EQ(s.vaddr, 0u);
  EXPECT_EQ(s.memsz, 0u);
  EXPECT_EQ(s.filesz, 0u);
  EXPECT_FALSE(s.readable || s.writable || s.executable);
}

TEST(Elf64, NonLoadHeadersAreSkipped) {
  ElfSpec spec;
  spec.segments = {SegmentSpec{4, 4, 0, 0, 0x10, 0}, SegmentSpec{1, 5, 0x400000, 0x1000, 0x10, 0},
                   SegmentSpec{0x6474e551, 6, 0, 0, 0, 0}, SegmentSpec{1, 6, 0x401000, 0x1000, 0x10, 0}};
  const auto bytes = build_elf(spec);
  Image img;
  ASSERT_EQ(Image::parse(bytes.data(), bytes.size(), img), Error::ok);
  ASSERT_EQ(img.segment_count(), 2u);
  EXPECT_EQ(img.segment(0).vaddr, 0x400000u);
  EXPECT_EQ(img.segment(1).vaddr, 0x401000u);
}

TEST(Elf64, FailedParseLeavesOutputUnchanged) {
  const auto good = cos::test::component_elf(false);
  Image img;
  ASSERT_EQ(Image::parse(good.data(), good.size(), img), Error::ok);
  std::vector<uint8_t> bad = good;
  bad[0] = 0;
  EXPECT_EQ(Image::parse(bad.data(), bad.size(), img), Error::bad_magic);
  EXPECT_EQ(img.data(), good.data());
  EXPECT_EQ(img.segment_count(), 2u);
}

TEST(Elf64, RejectsTooSmall) {
  Image img;
  EXPECT_EQ(Image::parse(nullptr, 0, img), Error::too_small);
  const auto bytes = cos::test::component_elf(false);
  EXPECT_EQ(Image::parse(bytes.data(), 63, img), Error::too_small);
}

TEST(Elf64, RejectsHeaderIdentity) {
  auto bytes = cos::test::component_elf(false);
  bytes[1] = 'X';
  EXPECT_EQ(parse(bytes), Error::bad_magic);

  ElfSpec spec;
  spec.elf_class = 1;
  EXPECT_EQ(parse(spec), Error::not_64bit);
  spec = {};
  spec.data = 2;
  EXPECT_EQ(parse(spec), Error::not_little_endian);
  spec = {};
  spec.machine = 3;  // EM_386
  EXPECT_EQ(parse(spec), Error::not_x86_64);
  spec = {};
  spec.type = 3;  // ET_DYN (PIE)
  EXPECT_EQ(parse(spec), Error::not_executable);
  spec.type = 1;  // ET_REL
  EXPECT_EQ(parse(spec), Error::not_executable);
}

TEST(Elf64, RejectsBadProgramHeaderTable) {
  auto bytes = build_elf(ElfSpec{});
  put(bytes, 32, bytes.size() - 10, 8);  // e_phoff: table runs off the end
  EXPECT_EQ(parse(bytes), Error::bad_program_headers);

  bytes = build_elf(ElfSpec{});
  put(bytes, 32, UINT64_MAX - 8, 8);  // e_phoff: overflow
  EXPECT_EQ(parse(bytes), Error::bad_program_headers);

  bytes = build_elf(ElfSpec{});
  put(bytes, 54, 32, 2);  // e_phentsize too small
  EXPECT_EQ(parse(bytes), Error::bad_program_headers);

  bytes = build_elf(ElfSpec{});
  put(bytes, 56, 0xffff, 2);  // PN_XNUM
  EXPECT_EQ(parse(bytes), Error::bad_program_headers);
}

TEST(Elf64, RejectsMissingSegments) {
  ElfSpec spec;
  spec.segments.clear();
  EXPECT_EQ(parse(spec), Error::no_segments);
  spec.segments = {SegmentSpec{4, 4, 0, 0, 0x10, 0}};  // PT_NOTE only
  EXPECT_EQ(parse(spec), Error::no_segments);
}

TEST(Elf64, RejectsBadSegments) {
  ElfSpec spec;
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0x100, 0x200, 0}};  // filesz > memsz
  EXPECT_EQ(parse(spec), Error::bad_segment);
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0, 0, 0}};  // empty
  EXPECT_EQ(parse(spec), Error::bad_segment);
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0x100000, 0x100000, 0}};  // file data past the end
  EXPECT_EQ(parse(spec), Error::bad_segment);
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0x1000, 0x10, UINT64_MAX - 4}};  // offset overflow
  EXPECT_EQ(parse(spec), Error::bad_segment);
  spec.segments = {SegmentSpec{1, 5, 0xfffffffffffff000ull, 0x2000, 0x10, 0}};  // address wraps
  EXPECT_EQ(parse(spec), Error::bad_segment);
}

TEST(Elf64, RejectsKernelAddresses) {
  ElfSpec spec;
  spec.segments = {SegmentSpec{1, 5, 0xffffffff80000000ull, 0x1000, 0x10, 0}};
  EXPECT_EQ(parse(spec), Error::kernel_address);
  spec.segments = {SegmentSpec{1, 5, 0x7ffffffff000ull, 0x1001, 0x10, 0}};  // one byte over
  EXPECT_EQ(parse(spec), Error::kernel_address);
  spec.segments = {SegmentSpec{1, 5, 0x7ffffffff000ull, 0x1000, 0x10, 0}};  // ends exactly at the limit
  EXPECT_EQ(parse(spec), Error::ok);
}

TEST(Elf64, RejectsOverlapAtPageGranularity) {
  ElfSpec spec;
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0x100, 0x10, 0}, SegmentSpec{1, 6, 0x400800, 0x100, 0x10, 0}};
  EXPECT_EQ(parse(spec), Error::overlapping_segments);  // same page
  spec.segments = {SegmentSpec{1, 5, 0x401000, 0x100, 0x10, 0}, SegmentSpec{1, 6, 0x400000, 0x100, 0x10, 0}};
  EXPECT_EQ(parse(spec), Error::overlapping_segments);  // unsorted
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0x1800, 0x10, 0}, SegmentSpec{1, 6, 0x401f00, 0x100, 0x10, 0}};
  EXPECT_EQ(parse(spec), Error::overlapping_segments);  // first ends inside second's first page
  spec.segments = {SegmentSpec{1, 5, 0x400000, 0x1000, 0x10, 0}, SegmentSpec{1, 6, 0x401000, 0x100, 0x10, 0}};
  EXPECT_EQ(parse(spec), Error::ok);  // adjacent pages
  spec.segments = {SegmentSpec{1, 5, 0x400010, 0xff0, 0x10, 0}, SegmentSpec{1, 6, 0x401ff0, 0x10, 0x10, 0}};
  EXPECT_EQ(parse(spec), Error::ok);  // unaligned but on distinct pages
}

TEST(Elf64, FindsDefinedSymbols) {
  ElfSpec spec;
  spec.symbols = {{"_start", 0x400000, false}, {"__cos_sinv_entry", 0x400040, false}, {"extern_thing", 0, true}};
  const auto bytes = build_elf(spec);
  Image img;
  ASSERT_EQ(Image::parse(bytes.data(), bytes.size(), img), Error::ok);
  uint64_t v = 7;
  EXPECT_TRUE(img.find_symbol("__cos_sinv_entry", v));
  EXPECT_EQ(v, 0x400040u);
  EXPECT_TRUE(img.find_symbol("_start", v));
  EXPECT_EQ(v, 0x400000u);
  v = 7;
  EXPECT_FALSE(img.find_symbol("extern_thing", v));  // undefined
  EXPECT_FALSE(img.find_symbol("_star", v));         // prefix
  EXPECT_FALSE(img.find_symbol("_start_", v));       // longer
  EXPECT_FALSE(img.find_symbol("", v));
  EXPECT_FALSE(img.find_symbol(nullptr, v));
  EXPECT_EQ(v, 7u);
}

TEST(Elf64, FindSymbolWithoutSectionsIsFalse) {
  const auto bytes = build_elf(ElfSpec{});
  Image img;
  ASSERT_EQ(Image::parse(bytes.data(), bytes.size(), img), Error::ok);
  uint64_t v = 0;
  EXPECT_FALSE(img.find_symbol("_start", v));
  Image empty;
  EXPECT_FALSE(empty.find_symbol("_start", v));
}

// Offsets into the section header table that build_elf writes.
struct SymtabLayout {
  size_t shoff, symtab_off, strtab_off, strtab_size;
};
SymtabLayout layout(const std::vector<uint8_t>& b) {
  auto get = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | b[at + size_t(i)];
    return size_t(v);
  };
  const size_t shoff = get(40);
  return {shoff, get(shoff + 64 + 24), get(shoff + 128 + 24), get(shoff + 128 + 32)};
}

TEST(Elf64, FindSymbolSurvivesMalformedTables) {
  ElfSpec spec;
  spec.symbols = {{"__cos_sinv_entry", 0x400040, false}};
  const auto good = build_elf(spec);
  const SymtabLayout l = layout(good);
  uint64_t v = 0;
  auto lookup = [&](const std::vector<uint8_t>& b) {
    Image img;
    EXPECT_EQ(Image::parse(b.data(), b.size(), img), Error::ok);
    return img.find_symbol("__cos_sinv_entry", v);
  };
  ASSERT_TRUE(lookup(good));

  auto b = good;
  put(b, 40, b.size() - 8, 8);  // section headers off the end
  EXPECT_FALSE(lookup(b));
  b = good;
  put(b, l.shoff + 64 + 32, 1u << 30, 8);  // symtab size past the end
  EXPECT_FALSE(lookup(b));
  b = good;
  put(b, l.shoff + 128 + 24, UINT64_MAX - 2, 8);  // strtab offset overflow
  EXPECT_FALSE(lookup(b));
  b = good;
  put(b, l.shoff + 64 + 40, 9, 4);  // sh_link out of range
  EXPECT_FALSE(lookup(b));
  b = good;
  put(b, l.shoff + 64 + 40, 1, 4);  // sh_link to a non-strtab
  EXPECT_FALSE(lookup(b));
  b = good;
  put(b, l.symtab_off + 24, l.strtab_size + 100, 4);  // st_name past the strtab
  EXPECT_FALSE(lookup(b));
  b = good;
  put(b, l.shoff + 128 + 32, l.strtab_size - 1, 8);  // strtab cut before the final NUL
  EXPECT_FALSE(lookup(b));
  b = good;
  put(b, l.shoff + 64 + 56, 0, 8);  // sh_entsize 0
  EXPECT_FALSE(lookup(b));
}

TEST(Elf64, ErrorStringsAreDistinct) {
  std::set<std::string> seen;
  for (int e = 0; e <= int(Error::no_segments); ++e) {
    const char* s = cos::elf::error_string(Error(e));
    ASSERT_NE(s, nullptr);
    EXPECT_TRUE(seen.insert(s).second) << s;
  }
  EXPECT_STREQ(cos::elf::error_string(Error(999)), "unknown error");
}

TEST(Elf64, TruncationsAndBitFlipsNeverCrash) {
  ElfSpec spec;
  spec.symbols = {{"__cos_sinv_entry", 0x400040, false}};
  const auto good = build_elf(spec);
  for (size_t n = 0; n <= good.size(); n += (n < 256 ? 1 : 61)) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + long(n));
    Image img;
    if (Image::parse(cut.data(), cut.size(), img) == Error::ok) {
      uint64_t v;
      img.find_symbol("__cos_sinv_entry", v);
      for (size_t i = 0; i < img.segment_count(); ++i) {
        const auto s = img.segment(i);
        EXPECT_LE(s.file_offset + s.filesz, cut.size());
      }
    }
  }
  cos::test::Rng rng(1234);
  for (int round = 0; round < 2000; ++round) {
    auto b = good;
    for (int k = 0; k < 4; ++k) b[rng() % 256 < 200 ? rng() % 256 : rng() % b.size()] ^= uint8_t(1u << (rng() % 8));
    Image img;
    if (Image::parse(b.data(), b.size(), img) == Error::ok) {
      uint64_t v;
      img.find_symbol("__cos_sinv_entry", v);
      for (size_t i = 0; i < img.segment_count(); ++i) {
        const auto s = img.segment(i);
        EXPECT_LE(s.file_offset + s.filesz, b.size());
        EXPECT_LE(s.vaddr + s.memsz, cos::elf::user_limit);
      }
    }
  }
}

TEST(Elf64, ParsesRealLinkerOutput) {
  std::ifstream in(COS_TEST_REAL_IMAGE, std::ios::binary);
  ASSERT_TRUE(in) << COS_TEST_REAL_IMAGE;
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Image img;
  ASSERT_EQ(Image::parse(bytes.data(), bytes.size(), img), Error::ok);
  EXPECT_GE(img.segment_count(), 2u);

  uint64_t start = 0, sinv = 0;
  ASSERT_TRUE(img.find_symbol("_start", start));
  EXPECT_EQ(img.entry(), start);
  ASSERT_TRUE(img.find_symbol("__cos_sinv_entry", sinv));
  bool in_text = false, has_writable = false;
  for (size_t i = 0; i < img.segment_count(); ++i) {
    const auto s = img.segment(i);
    if (s.executable && sinv >= s.vaddr && sinv < s.vaddr + s.memsz) in_text = true;
    has_writable |= s.writable;
  }
  EXPECT_TRUE(in_text);
  EXPECT_TRUE(has_writable);
}

}  // namespace
