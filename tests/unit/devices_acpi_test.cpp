// cos::dev::AcpiTables: the table set Linux reads (RSDP -> XSDT -> FADT ->
// DSDT, MADT), checksums, the \_S5 object, and the PCI root bridge in the
// DSDT — checked by walking the tables as a guest does and, when iasl
// (acpica-tools) is installed, by disassembling them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "devices/acpi_tables.hpp"

using cos::dev::AcpiTables;

namespace {

constexpr uint64_t kGpa = 0xe0000;

struct Tables {
  std::vector<uint8_t> buf = std::vector<uint8_t>(0x10000);
  size_t size = 0;
  uint32_t u32(size_t off) const {
    uint32_t v;
    std::memcpy(&v, buf.data() + off, 4);
    return v;
  }
  uint64_t u64(size_t off) const {
    uint64_t v;
    std::memcpy(&v, buf.data() + off, 8);
    return v;
  }
  // Offset in buf of the table at guest-physical `addr`.
  size_t at(uint64_t addr) const {
    EXPECT_GE(addr, kGpa);
    EXPECT_LT(addr - kGpa, size);
    return static_cast<size_t>(addr - kGpa);
  }
  std::string sig(size_t off) const { return std::string(reinterpret_cast<const char*>(buf.data() + off), 4); }
  size_t xsdt() const { return at(u64(24)); }
  // The table with `signature` listed in the XSDT.
  size_t find(const char* signature) const {
    size_t x = xsdt();
    for (size_t e = x + 36; e < x + u32(x + 4); e += 8)
      if (sig(at(u64(e))) == signature) return at(u64(e));
    ADD_FAILURE() << signature << " not in the XSDT";
    return 0;
  }
  size_t dsdt() const { return at(u64(find("FACP") + 140)); }
  std::vector<uint8_t> table(size_t off) const {
    return std::vector<uint8_t>(buf.begin() + off, buf.begin() + off + u32(off + 4));
  }
};

Tables build(const AcpiTables::Config& c) {
  Tables t;
  t.size = AcpiTables::build(t.buf.data(), t.buf.size(), kGpa, c);
  EXPECT_NE(t.size, 0u);
  return t;
}

void expect_checksums(const Tables& t) {
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(t.buf.data()), 8), "RSD PTR ");
  EXPECT_EQ(AcpiTables::sum(t.buf.data(), 20), 0);
  EXPECT_EQ(AcpiTables::sum(t.buf.data(), 36), 0);
  for (const char* s : {"FACP", "APIC"}) {
    size_t off = t.find(s);
    EXPECT_EQ(AcpiTables::sum(t.buf.data() + off, t.u32(off + 4)), 0) << s;
  }
  size_t x = t.xsdt();
  EXPECT_EQ(AcpiTables::sum(t.buf.data() + x, t.u32(x + 4)), 0);
  size_t d = t.dsdt();
  EXPECT_EQ(t.sig(d), "DSDT");
  EXPECT_EQ(AcpiTables::sum(t.buf.data() + d, t.u32(d + 4)), 0);
}

bool contains(const std::vector<uint8_t>& hay, const std::vector<uint8_t>& needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

TEST(AcpiTables, DefaultDsdtHoldsOnlyS5) {
  Tables t = build(AcpiTables::Config{});
  expect_checksums(t);
  std::vector<uint8_t> dsdt = t.table(t.dsdt());
  // Name (_S5_, Package () { 5, 0 }) after the 36-byte header (ACPI 6.4 7.4.2).
  std::vector<uint8_t> body(dsdt.begin() + 36, dsdt.end());
  EXPECT_EQ(body, (std::vector<uint8_t>{0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a, 0x05, 0x00}));
  EXPECT_EQ(dsdt[8], 2);  // revision 2: 64-bit integers
}

TEST(AcpiTables, PciRootBridgeInDsdt) {
  AcpiTables::Config c;
  c.pci.present = true;
  c.pci.mmio_base = 0xc0000000;
  c.pci.mmio_size = 0x10000000;
  Tables t = build(c);
  expect_checksums(t);
  std::vector<uint8_t> dsdt = t.table(t.dsdt());
  // Scope (\_SB) { Device (PCI0) { Name (_HID, EisaId ("PNP0A03")) ...
  EXPECT_TRUE(contains(dsdt, {0x5c, '_', 'S', 'B', '_', 0x5b, 0x82}));
  EXPECT_TRUE(contains(dsdt, {'P', 'C', 'I', '0', 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03}));
  EXPECT_TRUE(contains(dsdt, {0x08, '_', 'S', 'E', 'G', 0x00, 0x08, '_', 'B', 'B', 'N', 0x00}));
  // The memory window, as a DWord address space descriptor (producer, fixed).
  EXPECT_TRUE(contains(dsdt, {0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff, 0xff,
                              0xcf, 0, 0, 0, 0, 0, 0, 0, 0x10}));
  // _PRT entry for slot 1 INTA#: Package () { 0x0001FFFF, 0, 0, 17 }.
  EXPECT_TRUE(contains(dsdt, {0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00, 0x0a, 17}));
  // Slot 2 INTB#: GSI 16 + (2 + 1) % 4 = 19.
  EXPECT_TRUE(contains(dsdt, {0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x02, 0x00, 0x01, 0x00, 0x0a, 19}));
  // Still fits the first half of simple_vmm's 128 KiB table area.
  EXPECT_LT(t.size, 0x10000u);
}

TEST(AcpiTables, BadConfigurationsAndSmallBuffers) {
  AcpiTables::Config c;
  c.pci.present = true;
  c.pci.mmio_size = 0;  // empty window
  std::vector<uint8_t> buf(0x10000);
  EXPECT_EQ(AcpiTables::build(buf.data(), buf.size(), kGpa, c), 0u);
  c.pci.mmio_size = 0x1000;
  size_t need = AcpiTables::build(buf.data(), buf.size(), kGpa, c);
  ASSERT_NE(need, 0u);
  for (size_t len : {size_t(0), size_t(36), size_t(100), need / 2, need - 1})
    EXPECT_EQ(AcpiTables::build(buf.data(), len, kGpa, c), 0u) << len;
  EXPECT_EQ(AcpiTables::build(buf.data(), need, kGpa, c), need);
}

// The MADT's processor local APIC entries (ACPI 6.4 §5.2.12.2, type 0,
// length 8: UID, APIC ID, flags), walked entry by entry as Linux's
// acpi_parse_madt does, for 1, 2 and 8 processors.
TEST(AcpiTables, MadtListsOneLocalApicPerCpu) {
  for (uint8_t n : {uint8_t(1), uint8_t(2), uint8_t(8)}) {
    AcpiTables::Config c;
    c.cpus = n;
    Tables t = build(c);
    expect_checksums(t);
    size_t madt = t.find("APIC");
    uint32_t len = t.u32(madt + 4);
    EXPECT_EQ(len, 44u + 8u * n + 12 + 10 + 10 + 6) << int(n);
    EXPECT_EQ(t.u32(madt + 36), 0xfee00000u);  // local APIC address
    EXPECT_EQ(t.u32(madt + 40), 1u);           // PCAT_COMPAT
    std::vector<int> lapic_ids, uids;
    int ioapics = 0, overrides = 0, nmis = 0;
    for (size_t e = madt + 44; e < madt + len;) {
      uint8_t type = t.buf[e], elen = t.buf[e + 1];
      ASSERT_GE(elen, 2) << "entry at " << e - madt;
      ASSERT_LE(e + elen, madt + len);
      switch (type) {
        case 0:
          ASSERT_EQ(elen, 8);
          EXPECT_TRUE(ioapics == 0 && overrides == 0) << "processors come first";
          uids.push_back(t.buf[e + 2]);
          lapic_ids.push_back(t.buf[e + 3]);
          EXPECT_EQ(t.u32(e + 4), 1u);  // Enabled
          break;
        case 1: ++ioapics; break;
        case 2: ++overrides; break;
        case 4:
          ++nmis;
          EXPECT_EQ(t.buf[e + 2], 0xff);  // all processors
          break;
        default: ADD_FAILURE() << "unexpected MADT entry type " << int(type);
      }
      e += elen;
    }
    std::vector<int> expect;
    for (int i = 0; i < n; ++i) expect.push_back(i);
    EXPECT_EQ(uids, expect);
    EXPECT_EQ(lapic_ids, expect);
    EXPECT_EQ(ioapics, 1);
    EXPECT_EQ(overrides, 2);
    EXPECT_EQ(nmis, 1);
  }
}

TEST(AcpiTables, MadtRefusesBadCpuCounts) {
  std::vector<uint8_t> buf(0x10000);
  AcpiTables::Config c;
  c.cpus = 0;
  EXPECT_EQ(AcpiTables::build(buf.data(), buf.size(), kGpa, c), 0u);
  c.cpus = AcpiTables::kMaxCpus + 1;
  EXPECT_EQ(AcpiTables::build(buf.data(), buf.size(), kGpa, c), 0u);
  c.cpus = 2;
  c.lapic_id = 0xfe;  // the second CPU would get 0xff, the broadcast ID
  EXPECT_EQ(AcpiTables::build(buf.data(), buf.size(), kGpa, c), 0u);
  c.lapic_id = 0xfd;
  EXPECT_NE(AcpiTables::build(buf.data(), buf.size(), kGpa, c), 0u);
}

#ifdef COS_IASL
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
// Per-process file names under the test temp directory.
std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "cos_acpi_" + std::to_string(getpid()) + "_" + name;
}

// Disassembles one table with iasl; returns the .dsl text ("" on failure).
std::string disassemble(const std::vector<uint8_t>& table, const std::string& name) {
  std::string dat = temp_path(name + ".dat"), dsl = temp_path(name + ".dsl"), log = temp_path(name + ".log");
  {
    std::ofstream f(dat, std::ios::binary);
    f.write(reinterpret_cast<const char*>(table.data()), static_cast<std::streamsize>(table.size()));
  }
  std::string cmd = std::string(COS_IASL) + " -d " + dat + " > " + log + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << slurp(log);
  std::string text = slurp(dsl);
  std::remove(dat.c_str());
  std::remove(dsl.c_str());
  std::remove(log.c_str());
  return text;
}

// Compiles ASL with iasl, optimizations off (-oa: iasl would otherwise drop
// the redundant root prefix of \_SB at the root); returns the AML.
std::string compile(const std::string& asl, const std::string& name) {
  std::string src = temp_path(name + ".dsl"), prefix = temp_path(name + "_out"), log = temp_path(name + ".clog");
  {
    std::ofstream f(src);
    f << asl;
  }
  std::string cmd = std::string(COS_IASL) + " -oa -p " + prefix + " " + src + " > " + log + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd << "\n" << slurp(log);
  std::string aml = slurp(prefix + ".aml");
  std::remove(src.c_str());
  std::remove((prefix + ".aml").c_str());
  std::remove(log.c_str());
  return aml;
}

TEST(AcpiTablesIasl, DisassemblesCleanly) {
  AcpiTables::Config c;
  c.pci.present = true;
  c.pci.mmio_base = 0xc0000000;
  c.pci.mmio_size = 0x10000000;
  Tables t = build(c);
  std::string dsdt = disassemble(t.table(t.dsdt()), "dsdt");
  ASSERT_FALSE(dsdt.empty());
  EXPECT_EQ(dsdt.find("Error"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("Name (_S5, Package (0x02)"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("Device (PCI0)"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("EisaId (\"PNP0A03\")"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("IO (Decode16,"), std::string::npos) << dsdt;
  EXPECT_NE(dsdt.find("WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,"), std::string::npos)
      << dsdt;
  EXPECT_NE(dsdt.find("DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,"),
            std::string::npos)
      << dsdt;
  EXPECT_NE(dsdt.find("0xC0000000"), std::string::npos);
  EXPECT_NE(dsdt.find("0xCFFFFFFF"), std::string::npos);
  EXPECT_NE(dsdt.find("Name (_PRT, Package (0x7C)"), std::string::npos) << dsdt;  // 31 slots x 4 pins
  EXPECT_NE(dsdt.find("0x001FFFFF"), std::string::npos);
  // Round trip: iasl compiles its own disassembly to exactly our AML (the
  // 36-byte header differs in checksum and compiler ID only).
  std::vector<uint8_t> ours = t.table(t.dsdt());
  std::string theirs = compile(dsdt, "dsdt_rt");
  ASSERT_EQ(theirs.size(), ours.size());
  EXPECT_TRUE(std::equal(ours.begin() + 36, ours.end(), reinterpret_cast<const uint8_t*>(theirs.data()) + 36));
  for (const char* s : {"FACP", "APIC"}) {
    std::string dsl = disassemble(t.table(t.find(s)), s);
    EXPECT_FALSE(dsl.empty()) << s;
    EXPECT_EQ(dsl.find("Invalid"), std::string::npos) << dsl;
    EXPECT_EQ(dsl.find("Incorrect"), std::string::npos) << dsl;  // iasl's checksum complaint
  }
}
#else
TEST(AcpiTablesIasl, DisassemblesCleanly) {
  GTEST_SKIP() << "iasl not found at configure time (Debian package acpica-tools, listed in tools/cos/packages.txt)";
}
#endif

}  // namespace
