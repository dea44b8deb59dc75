// cos::dev::AmlWriter: byte-exact AML and resource-descriptor encodings
// checked against ACPI 6.4 (§20.2 AML grammar, §20.2.4 PkgLength, §19.3.4
// EISAID, §6.4 resource data types), and the errors the writer catches.
#include <gtest/gtest.h>

#include <vector>

#include "devices/aml.hpp"

using cos::dev::AmlWriter;

namespace {

using Bytes = std::vector<uint8_t>;

struct Aml {
  uint8_t buf[8192];
  AmlWriter w{buf, sizeof(buf)};
  Bytes bytes() const { return Bytes(buf, buf + w.size()); }
};

Bytes integer(uint64_t v) {
  Aml a;
  a.w.integer(v);
  EXPECT_TRUE(a.w.ok());
  return a.bytes();
}

TEST(Aml, IntegersUseTheShortestEncoding) {
  // §20.2.3: ZeroOp 0x00, OneOp 0x01, BytePrefix 0x0A, WordPrefix 0x0B,
  // DWordPrefix 0x0C, QWordPrefix 0x0E; little-endian data.
  EXPECT_EQ(integer(0), (Bytes{0x00}));
  EXPECT_EQ(integer(1), (Bytes{0x01}));
  EXPECT_EQ(integer(2), (Bytes{0x0a, 0x02}));
  EXPECT_EQ(integer(0xff), (Bytes{0x0a, 0xff}));
  EXPECT_EQ(integer(0x100), (Bytes{0x0b, 0x00, 0x01}));
  EXPECT_EQ(integer(0xffff), (Bytes{0x0b, 0xff, 0xff}));
  EXPECT_EQ(integer(0x10000), (Bytes{0x0c, 0x00, 0x00, 0x01, 0x00}));
  EXPECT_EQ(integer(0xc0000000), (Bytes{0x0c, 0x00, 0x00, 0x00, 0xc0}));
  EXPECT_EQ(integer(0x100000000ull), (Bytes{0x0e, 0, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(integer(~0ull), (Bytes{0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

TEST(Aml, Strings) {
  Aml a;
  a.w.string("PCI");
  EXPECT_EQ(a.bytes(), (Bytes{0x0d, 'P', 'C', 'I', 0x00}));
  Aml b;
  b.w.string("\x80");  // not 7-bit ASCII
  EXPECT_FALSE(b.w.ok());
}

TEST(Aml, EisaIdCompression) {
  // Values as they appear in every PC firmware's DSDT (iasl prints them back
  // as EisaId strings).
  uint32_t v = 0;
  ASSERT_TRUE(AmlWriter::eisa_id_value("PNP0A03", v));
  EXPECT_EQ(v, 0x030ad041u);
  ASSERT_TRUE(AmlWriter::eisa_id_value("PNP0A08", v));
  EXPECT_EQ(v, 0x080ad041u);
  ASSERT_TRUE(AmlWriter::eisa_id_value("PNP0C0F", v));
  EXPECT_EQ(v, 0x0f0cd041u);
  EXPECT_FALSE(AmlWriter::eisa_id_value("pnp0a03", v));
  EXPECT_FALSE(AmlWriter::eisa_id_value("PNP0A0G", v));
  EXPECT_FALSE(AmlWriter::eisa_id_value("PNP0A0", v));
  EXPECT_FALSE(AmlWriter::eisa_id_value("PNP0A033", v));
  Aml a;
  a.w.eisa_id("PNP0A03");  // always a DWordConst
  EXPECT_EQ(a.bytes(), (Bytes{0x0c, 0x41, 0xd0, 0x0a, 0x03}));
}

TEST(Aml, PkgLengthEncoding) {
  // §20.2.4: one byte up to 63 (bits 5:0); otherwise bits 7:6 = count of
  // following bytes, bits 3:0 the low nibble, then 8 bits per byte. The
  // length includes the PkgLength bytes themselves.
  uint8_t o[4];
  ASSERT_EQ(AmlWriter::encode_pkg_length(0, o), 1u);
  EXPECT_EQ(o[0], 0x01);
  ASSERT_EQ(AmlWriter::encode_pkg_length(62, o), 1u);
  EXPECT_EQ(o[0], 0x3f);
  ASSERT_EQ(AmlWriter::encode_pkg_length(63, o), 2u);  // 65 = 0x041
  EXPECT_EQ(o[0], 0x41);
  EXPECT_EQ(o[1], 0x04);
  ASSERT_EQ(AmlWriter::encode_pkg_length(0xffd, o), 2u);  // 0xfff
  EXPECT_EQ(o[0], 0x4f);
  EXPECT_EQ(o[1], 0xff);
  ASSERT_EQ(AmlWriter::encode_pkg_length(0xffe, o), 3u);  // 0x1001
  EXPECT_EQ(o[0], 0x81);
  EXPECT_EQ(o[1], 0x00);
  EXPECT_EQ(o[2], 0x01);
  ASSERT_EQ(AmlWriter::encode_pkg_length(0xffffc, o), 3u);  // 0xfffff
  EXPECT_EQ(o[0], 0x8f);
  ASSERT_EQ(AmlWriter::encode_pkg_length(0xffffd, o), 4u);  // 0x100001
  EXPECT_EQ(o[0], 0xc1);
  EXPECT_EQ(o[1], 0x00);
  EXPECT_EQ(o[2], 0x00);
  EXPECT_EQ(o[3], 0x01);
  EXPECT_EQ(AmlWriter::encode_pkg_length(0xffffffc, o), 0u);  // beyond 2^28 - 1
}

TEST(Aml, NameStrings) {
  Aml a;
  a.w.name("_S5");  // padded to _S5_
  a.w.integer(0);
  EXPECT_EQ(a.bytes(), (Bytes{0x08, '_', 'S', '5', '_', 0x00}));
  Aml b;
  b.w.name("\\_SB.PCI0.FOO");  // root, MultiNamePrefix with 3 segments
  b.w.integer(1);
  EXPECT_EQ(b.bytes(), (Bytes{0x08, 0x5c, 0x2f, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'F', 'O', 'O', '_', 0x01}));
  Aml c;
  c.w.name("^PCI0.X");  // parent prefix, DualNamePrefix
  c.w.integer(0);
  EXPECT_EQ(c.bytes(), (Bytes{0x08, 0x5e, 0x2e, 'P', 'C', 'I', '0', 'X', '_', '_', '_', 0x00}));
  for (const char* bad : {"1ABC", "ABCDE", "a", "A..B", "AB.", "A-B"}) {
    Aml d;
    d.w.name(bad);
    d.w.integer(0);
    EXPECT_FALSE(d.w.ok()) << bad;
  }
}

TEST(Aml, PackagesCountTheirElements) {
  // Name (_S5, Package () { 5, 0 }) — the \_S5 object the DSDT carries.
  Aml a;
  a.w.name("_S5");
  a.w.package();
  a.w.integer(5);
  a.w.integer(0);
  a.w.end();
  ASSERT_TRUE(a.w.ok());
  EXPECT_EQ(a.bytes(), (Bytes{0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00}));
  // Nested: Package () { Package () { 0x0001FFFF, 0, 0, 16 } }.
  Aml b;
  b.w.package();
  b.w.package();
  b.w.integer(0x1ffff);
  b.w.integer(0);
  b.w.integer(0);
  b.w.integer(16);
  b.w.end();
  b.w.end();
  ASSERT_TRUE(b.w.ok());
  EXPECT_EQ(b.bytes(), (Bytes{0x12, 0x0e, 0x01,                                   // outer: 1 element
                              0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00,     // inner: 4 elements
                              0x00, 0x00, 0x0a, 0x10}));
}

TEST(Aml, LongPackageGetsATwoBytePkgLength) {
  Aml a;
  a.w.package();
  for (int i = 0; i < 40; ++i) a.w.integer(0x1234);  // 40 * 3 bytes
  a.w.end();
  ASSERT_TRUE(a.w.ok());
  Bytes b = a.bytes();
  ASSERT_EQ(b.size(), 1u + 2u + 1u + 120u);
  // PkgLength = 2 + 1 + 120 = 123 = 0x7b: lead 0x4b, then 0x07.
  EXPECT_EQ(b[1], 0x4b);
  EXPECT_EQ(b[2], 0x07);
  EXPECT_EQ(b[3], 40);
  EXPECT_EQ(b[4], 0x0b);
}

TEST(Aml, ScopeAndDevice) {
  Aml a;
  a.w.scope("\\_SB");
  a.w.device("PCI0");
  a.w.name("_UID");
  a.w.integer(0);
  a.w.end();
  a.w.end();
  ASSERT_TRUE(a.w.ok());
  EXPECT_EQ(a.bytes(), (Bytes{0x10, 0x13, 0x5c, '_', 'S', 'B', '_',             // ScopeOp PkgLength(19) \_SB_
                              0x5b, 0x82, 0x0b, 'P', 'C', 'I', '0',             // DeviceOp PkgLength(11) PCI0
                              0x08, '_', 'U', 'I', 'D', 0x00}));
}

TEST(Aml, ResourceTemplateDescriptors) {
  Aml a;
  a.w.resource_template();
  a.w.word_bus_number(AmlWriter::kMinFixed | AmlWriter::kMaxFixed, 0, 0);
  a.w.io_port(0xcf8, 0xcf8, 1, 8);
  a.w.word_io(AmlWriter::kMinFixed | AmlWriter::kMaxFixed, 0x0d00, 0xffff);
  a.w.dword_memory(AmlWriter::kMinFixed | AmlWriter::kMaxFixed, 0x01, 0xc0000000, 0xcfffffff);
  a.w.qword_memory(AmlWriter::kMinFixed | AmlWriter::kMaxFixed, 0x01, 0x100000000ull, 0x1ffffffffull);
  a.w.end();
  ASSERT_TRUE(a.w.ok());
  Bytes want = {
      // WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0, 0, 1) — §6.4.3.5.3
      0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
      // IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08) — §6.4.2.5
      0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
      // WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, 0x0D00, 0xFFFF, 0, 0xF300)
      0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00, 0x0d, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3,
      // DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite, 0,
      //              0xC0000000, 0xCFFFFFFF, 0, 0x10000000) — §6.4.3.5.2
      0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xff, 0xcf,
      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
      // QWordMemory (..., 0x100000000, 0x1FFFFFFFF, 0, 0x100000000) — §6.4.3.5.1
      0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
      1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
      // End tag, checksum 0 — §6.4.2.9
      0x79, 0x00};
  ASSERT_EQ(want.size(), 16u + 8u + 16u + 26u + 46u + 2u);
  Bytes got = a.bytes();
  // BufferOp PkgLength BufferSize(ByteConst 114) ByteList.
  ASSERT_EQ(got.size(), 1u + 2u + 2u + want.size());
  EXPECT_EQ(got[0], 0x11);
  EXPECT_EQ(got[1], 0x46);  // PkgLength 2 + 2 + 114 = 118 = 0x76
  EXPECT_EQ(got[2], 0x07);
  EXPECT_EQ(got[3], 0x0a);  // BytePrefix 114
  EXPECT_EQ(got[4], 114);
  EXPECT_EQ(Bytes(got.begin() + 5, got.end()), want);
}

TEST(Aml, EmptyResourceTemplateIsJustTheEndTag) {
  Aml a;
  a.w.resource_template();
  a.w.end();
  ASSERT_TRUE(a.w.ok());
  EXPECT_EQ(a.bytes(), (Bytes{0x11, 0x05, 0x0a, 0x02, 0x79, 0x00}));
}

TEST(Aml, StructuralErrors) {
  {
    Aml a;  // a descriptor outside a template
    a.w.io_port(0, 0, 1, 1);
    EXPECT_FALSE(a.w.ok());
  }
  {
    Aml a;  // a name inside a package
    a.w.package();
    a.w.name("X");
    a.w.integer(0);
    a.w.end();
    EXPECT_FALSE(a.w.ok());
  }
  {
    Aml a;  // data objects inside a template
    a.w.resource_template();
    a.w.integer(3);
    a.w.end();
    EXPECT_FALSE(a.w.ok());
  }
  {
    Aml a;  // unbalanced
    a.w.end();
    EXPECT_FALSE(a.w.ok());
    Aml b;
    b.w.package();
    EXPECT_FALSE(b.w.ok());  // still open
  }
  {
    Aml a;  // min > max
    a.w.resource_template();
    a.w.dword_memory(0, 0, 0x2000, 0x1000);
    a.w.end();
    EXPECT_FALSE(a.w.ok());
  }
  {
    Aml a;  // 256 package elements do not fit NumElements
    a.w.package();
    for (int i = 0; i < 256; ++i) a.w.integer(0);
    a.w.end();
    EXPECT_FALSE(a.w.ok());
  }
  {
    Aml a;  // nesting deeper than kMaxDepth
    for (unsigned i = 0; i <= AmlWriter::kMaxDepth; ++i) a.w.package();
    for (unsigned i = 0; i <= AmlWriter::kMaxDepth; ++i) a.w.end();
    EXPECT_FALSE(a.w.ok());
  }
  {
    uint8_t small[8];
    AmlWriter w(small, sizeof(small));  // out of room, also when inserting a PkgLength
    w.package();
    for (int i = 0; i < 7; ++i) w.integer(0);
    w.end();
    EXPECT_FALSE(w.ok());
    EXPECT_LE(w.size(), sizeof(small));
  }
}

}  // namespace
