// cos::dev::MpTable: structure, checksums and contents of the MP spec 1.4
// tables, parsed the way Linux's arch/x86/kernel/mpparse.c finds and checks
// them (smp_scan_config, smp_check_mpc, smp_read_mpc).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "devices/isa_irq_router.hpp"
#include "devices/mp_table.hpp"

using cos::dev::MpTable;

namespace {

uint16_t le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | uint32_t(le16(p + 2)) << 16; }

// Guest memory for 0x00000-0xfffff.
struct LowMemory {
  std::vector<uint8_t> mem = std::vector<uint8_t>(0x100000, 0);
  uint8_t* at(uint64_t gpa) { return mem.data() + gpa; }
};

// smp_scan_config(base, length): the first 16-byte aligned "_MP_" with
// length 1, a zero checksum and spec revision 1 or 4.
long linux_scan(LowMemory& m, uint64_t base, uint64_t length) {
  for (uint64_t p = base; p + 16 <= base + length; p += 16) {
    const uint8_t* bp = m.at(p);
    if (std::memcmp(bp, "_MP_", 4) == 0 && bp[8] == 1 && MpTable::sum(bp, 16) == 0 && (bp[9] == 1 || bp[9] == 4))
      return static_cast<long>(p);
  }
  return -1;
}

struct Parsed {
  int processors = 0, buses = 0, ioapics = 0;
  std::vector<std::vector<uint8_t>> io_ints, local_ints;
  std::vector<int> cpu_ids, cpu_flag_list;  // every processor entry, in order
  uint8_t cpu_apic_id = 0xee, cpu_flags = 0, ioapic_id = 0xee, ioapic_ver = 0;
  uint32_t lapic_addr = 0, ioapic_addr = 0;
  std::string bus_type;
};

// smp_check_mpc() + smp_read_mpc(): returns false where Linux would reject.
bool linux_read_mpc(const uint8_t* mpc, Parsed& out) {
  if (std::memcmp(mpc, "PCMP", 4) != 0) return false;
  uint16_t len = le16(mpc + 4);
  if (MpTable::sum(mpc, len) != 0) return false;
  if (mpc[6] != 0x01 && mpc[6] != 0x04) return false;
  out.lapic_addr = le32(mpc + 36);
  if (!out.lapic_addr) return false;
  const uint8_t* p = mpc + 44;
  unsigned count = le16(mpc + 34);
  for (unsigned i = 0; i < count; ++i) {
    if (p >= mpc + len) return false;
    switch (p[0]) {
      case 0:
        ++out.processors;
        out.cpu_apic_id = p[1];
        out.cpu_flags = p[3];
        out.cpu_ids.push_back(p[1]);
        out.cpu_flag_list.push_back(p[3]);
        p += 20;
        break;
      case 1:
        ++out.buses;
        out.bus_type.assign(reinterpret_cast<const char*>(p + 2), 6);
        p += 8;
        break;
      case 2:
        ++out.ioapics;
        out.ioapic_id = p[1];
        out.ioapic_ver = p[2];
        out.ioapic_addr = le32(p + 4);
        p += 8;
        break;
      case 3:
        out.io_ints.emplace_back(p, p + 8);
        p += 8;
        break;
      case 4:
        out.local_ints.emplace_back(p, p + 8);
        p += 8;
        break;
      default:
        return false;
    }
  }
  return p == mpc + len;
}

TEST(MpTableTest, BuildsAtF0000AndLinuxFindsIt) {
  LowMemory m;
  ASSERT_EQ(MpTable::build(m.at(0xf0000), 0x10000, 0xf0000), MpTable::kSize);
  EXPECT_EQ(MpTable::kSize, 232u);
  EXPECT_TRUE(MpTable::in_scanned_area(0xf0000));
  // default_find_smp_config()'s scan order.
  EXPECT_EQ(linux_scan(m, 0x0, 0x400), -1);
  EXPECT_EQ(linux_scan(m, 639 * 0x400, 0x400), -1);
  long mpf = linux_scan(m, 0xf0000, 0x10000);
  ASSERT_EQ(mpf, 0xf0000);
  const uint8_t* fp = m.at(0xf0000);
  EXPECT_EQ(MpTable::sum(fp, 16), 0);
  EXPECT_EQ(fp[9], 4);   // spec 1.4
  EXPECT_EQ(fp[11], 0);  // configuration table present
  EXPECT_EQ(fp[12] & 0x80, 0);  // virtual wire (no IMCR)
  uint32_t physptr = le32(fp + 4);
  EXPECT_EQ(physptr, 0xf0010u);

  Parsed t;
  ASSERT_TRUE(linux_read_mpc(m.at(physptr), t));
  EXPECT_EQ(MpTable::sum(m.at(physptr), le16(m.at(physptr) + 4)), 0);
  EXPECT_EQ(le16(m.at(physptr) + 4), MpTable::kConfigTableSize);
  EXPECT_EQ(t.lapic_addr, 0xfee00000u);
  EXPECT_EQ(t.processors, 1);
  EXPECT_EQ(t.cpu_apic_id, 0);
  EXPECT_EQ(t.cpu_flags, 0x03);  // enabled, BSP
  EXPECT_EQ(t.buses, 1);
  EXPECT_EQ(t.bus_type, "ISA   ");
  EXPECT_EQ(t.ioapics, 1);
  EXPECT_EQ(t.ioapic_id, 1);
  EXPECT_EQ(t.ioapic_ver, 0x11);
  EXPECT_EQ(t.ioapic_addr, 0xfec00000u);
  // mp_INT entries from ISA bus 0: IRQ0 -> INTIN2, no IRQ2, others identity.
  ASSERT_EQ(t.io_ints.size(), 15u);
  bool seen[16] = {};
  for (const auto& e : t.io_ints) {
    EXPECT_EQ(e[1], 0);            // mp_INT
    EXPECT_EQ(le16(&e[2]), 0);     // conforming polarity and trigger
    EXPECT_EQ(e[4], 0);            // source bus: ISA
    unsigned irq = e[5];
    ASSERT_LT(irq, 16u);
    seen[irq] = true;
    EXPECT_EQ(e[6], 1);            // I/O APIC ID
    EXPECT_EQ(e[7], cos::dev::isa_irq_to_gsi(irq));
  }
  for (unsigned irq = 0; irq < 16; ++irq) EXPECT_EQ(seen[irq], irq != 2) << irq;
  EXPECT_EQ(t.io_ints[0][5], 0);
  EXPECT_EQ(t.io_ints[0][7], 2);
  // Local interrupts: LINT0 ExtINT, LINT1 NMI, to all local APICs.
  ASSERT_EQ(t.local_ints.size(), 2u);
  EXPECT_EQ(t.local_ints[0][1], 3);  // mp_ExtINT
  EXPECT_EQ(t.local_ints[0][6], 0xff);
  EXPECT_EQ(t.local_ints[0][7], 0);
  EXPECT_EQ(t.local_ints[1][1], 1);  // mp_NMI
  EXPECT_EQ(t.local_ints[1][7], 1);
}

TEST(MpTableTest, ConfigurationAndOemStrings) {
  LowMemory m;
  MpTable::Config c;
  c.lapic_id = 2;
  c.ioapic_id = 3;
  c.ioapic_base = 0xfec01000;
  c.cpu_signature = 0x000806f8;
  c.oem_id = "ABCDEFGHIJ";  // truncated to 8
  c.product_id = "X";
  ASSERT_EQ(MpTable::build(m.at(0x9fc00), 0x400, 0x9fc00, c), MpTable::kSize);
  EXPECT_EQ(linux_scan(m, 639 * 0x400, 0x400), 0x9fc00);
  const uint8_t* mpc = m.at(le32(m.at(0x9fc00) + 4));
  EXPECT_EQ(std::memcmp(mpc + 8, "ABCDEFGH", 8), 0);
  EXPECT_EQ(std::memcmp(mpc + 16, "X           ", 12), 0);
  Parsed t;
  ASSERT_TRUE(linux_read_mpc(mpc, t));
  EXPECT_EQ(t.cpu_apic_id, 2);
  EXPECT_EQ(t.ioapic_id, 3);
  EXPECT_EQ(t.ioapic_addr, 0xfec01000u);
  EXPECT_EQ(le32(mpc + 44 + 4), 0x000806f8u);
  for (const auto& e : t.io_ints) EXPECT_EQ(e[6], 3);
}

TEST(MpTableTest, ChecksumsDetectCorruption) {
  std::vector<uint8_t> buf(MpTable::kSize);
  ASSERT_EQ(MpTable::build(buf.data(), buf.size(), 0xf5000), MpTable::kSize);
  EXPECT_EQ(MpTable::sum(buf.data(), 16), 0);
  EXPECT_EQ(MpTable::sum(buf.data() + 16, MpTable::kConfigTableSize), 0);
  buf[20 + 16] ^= 1;
  EXPECT_NE(MpTable::sum(buf.data() + 16, MpTable::kConfigTableSize), 0);
}

TEST(MpTableTest, RejectsBadArguments) {
  std::vector<uint8_t> buf(MpTable::kSize);
  EXPECT_EQ(MpTable::build(buf.data(), buf.size() - 1, 0xf0000), 0u);
  EXPECT_EQ(MpTable::build(buf.data(), buf.size(), 0xf0008), 0u);  // not 16-byte aligned
  EXPECT_EQ(MpTable::build(buf.data(), buf.size(), 0xffffff80), 0u);  // crosses 4 GiB
  EXPECT_EQ(MpTable::build(nullptr, 4096, 0xf0000), 0u);
  EXPECT_FALSE(MpTable::in_scanned_area(0x80000));
  EXPECT_TRUE(MpTable::in_scanned_area(0x0));
  EXPECT_TRUE(MpTable::in_scanned_area(0xffff0));
  EXPECT_FALSE(MpTable::in_scanned_area(0xffff8));
}

}  // namespace

namespace {

// N processors: N 20-byte processor entries (MP spec 1.4 Table 4-4), APIC
// IDs 0..N-1, only the first with BP, the table length and entry count to
// match, as Linux's smp_read_mpc reads them.
TEST(MpTableTest, OneProcessorEntryPerCpu) {
  for (uint8_t n : {uint8_t(2), uint8_t(4), uint8_t(8)}) {
    LowMemory m;
    MpTable::Config c;
    c.cpus = n;
    ASSERT_EQ(MpTable::build(m.at(0xf0000), 0x10000, 0xf0000, c), MpTable::size(n));
    EXPECT_EQ(MpTable::size(n), MpTable::kSize + 20u * (n - 1));
    ASSERT_EQ(linux_scan(m, 0xf0000, 0x10000), 0xf0000);
    const uint8_t* mpc = m.at(0xf0010);
    EXPECT_EQ(le16(mpc + 4), MpTable::config_table_size(n));
    EXPECT_EQ(le16(mpc + 34), n + 1u + 1u + 15u + 2u);  // entry count
    Parsed t;
    ASSERT_TRUE(linux_read_mpc(mpc, t));
    EXPECT_EQ(t.processors, n);
    std::vector<int> ids, flags;
    for (int i = 0; i < n; ++i) ids.push_back(i), flags.push_back(i == 0 ? 0x03 : 0x01);
    EXPECT_EQ(t.cpu_ids, ids);
    EXPECT_EQ(t.cpu_flag_list, flags);
    EXPECT_EQ(t.ioapics, 1);
    EXPECT_EQ(t.io_ints.size(), 15u);
  }
}

TEST(MpTableTest, RefusesBadCpuCountsAndShortBuffers) {
  std::vector<uint8_t> buf(0x1000);
  MpTable::Config c;
  c.cpus = 0;
  EXPECT_EQ(MpTable::build(buf.data(), buf.size(), 0xf0000, c), 0u);
  c.cpus = MpTable::kMaxCpus + 1;
  EXPECT_EQ(MpTable::build(buf.data(), buf.size(), 0xf0000, c), 0u);
  c.cpus = 3;
  EXPECT_EQ(MpTable::build(buf.data(), MpTable::size(3) - 1, 0xf0000, c), 0u);
  EXPECT_EQ(MpTable::build(buf.data(), MpTable::size(3), 0xf0000, c), MpTable::size(3));
}

}  // namespace
