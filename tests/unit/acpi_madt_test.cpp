// The kernel's ACPI processor discovery (src/platform/x86_64/acpi_madt.cpp)
// over a fake physical memory with tables built as the ACPI 6.5
// specification lays them out (5.2.5 RSDP, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.12
// MADT with entry types 0, 5 and 9).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "x86_64/acpi_madt.hpp"

namespace {

using cos::x86::acpi::Processors;

/// A fake physical memory: one byte vector from address 0.
struct Phys {
  std::vector<uint8_t> mem = std::vector<uint8_t>(0x110000, 0);
  uint64_t hole_start = 0, hole_end = 0;  ///< unreadable bytes
  static const uint8_t* read(uint64_t pa, size_t len, void* ctx) {
    auto* self = static_cast<Phys*>(ctx);
    if (pa + len > self->mem.size()) return nullptr;
    if (pa < self->hole_end && pa + len > self->hole_start) return nullptr;
    return self->mem.data() + pa;
  }
  void put(uint64_t pa, const std::vector<uint8_t>& bytes) { std::memcpy(mem.data() + pa, bytes.data(), bytes.size()); }
};

void le32(std::vector<uint8_t>& v, size_t at, uint32_t x) {
  for (int i = 0; i < 4; ++i) v[at + i] = static_cast<uint8_t>(x >> (8 * i));
}
void le64(std::vector<uint8_t>& v, size_t at, uint64_t x) {
  le32(v, at, static_cast<uint32_t>(x));
  le32(v, at + 4, static_cast<uint32_t>(x >> 32));
}
void fix_checksum(std::vector<uint8_t>& v, size_t sum_at, size_t len) {
  v[sum_at] = 0;
  uint8_t s = 0;
  for (size_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + v[i]);
  v[sum_at] = static_cast<uint8_t>(-s);
}

/// A table with the common header and `body`.
std::vector<uint8_t> table(const char* sig, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> t(36, 0);
  std::memcpy(t.data(), sig, 4);
  t.insert(t.end(), body.begin(), body.end());
  le32(t, 4, static_cast<uint32_t>(t.size()));
  t[8] = 1;
  fix_checksum(t, 9, t.size());
  return t;
}

std::vector<uint8_t> lapic(uint8_t uid, uint8_t id, uint32_t flags) {
  std::vector<uint8_t> e{0, 8, uid, id, 0, 0, 0, 0};
  le32(e, 4, flags);
  return e;
}
std::vector<uint8_t> x2apic(uint32_t id, uint32_t flags) {
  std::vector<uint8_t> e(16, 0);
  e[0] = 9;
  e[1] = 16;
  le32(e, 4, id);
  le32(e, 8, flags);
  return e;
}
std::vector<uint8_t> madt_body(const std::vector<std::vector<uint8_t>>& entries) {
  std::vector<uint8_t> b(8, 0);
  le32(b, 0, 0xfee00000);
  le32(b, 4, 1);  // PCAT_COMPAT
  for (auto& e : entries) b.insert(b.end(), e.begin(), e.end());
  return b;
}

std::vector<uint8_t> rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt) {
  std::vector<uint8_t> r(revision >= 2 ? 36 : 20, 0);
  std::memcpy(r.data(), "RSD PTR ", 8);
  std::memcpy(r.data() + 9, "COSTST", 6);
  r[15] = revision;
  le32(r, 16, rsdt);
  fix_checksum(r, 8, 20);
  if (revision >= 2) {
    le32(r, 20, 36);
    le64(r, 24, xsdt);
    fix_checksum(r, 32, 36);
  }
  return r;
}

/// QEMU-like layout: RSDP in the BIOS area, RSDT pointing at a FACP and the MADT.
struct Firmware : Phys {
  Firmware(const std::vector<std::vector<uint8_t>>& entries, uint8_t revision = 0) {
    put(0x7000, table("FACP", std::vector<uint8_t>(80, 0)));
    put(0x8000, table("APIC", madt_body(entries)));
    std::vector<uint8_t> rsdt_body(8, 0);
    le32(rsdt_body, 0, 0x7000);
    le32(rsdt_body, 4, 0x8000);
    put(0x9000, table("RSDT", rsdt_body));
    std::vector<uint8_t> xsdt_body(16, 0);
    le64(xsdt_body, 0, 0x7000);
    le64(xsdt_body, 8, 0x8000);
    put(0xa000, table("XSDT", xsdt_body));
    put(0xf5a30, rsdp(revision, 0x9000, revision >= 2 ? 0xa000 : 0));
  }
};

TEST(AcpiMadt, FindsTheRsdpAndTheEnabledProcessors) {
  Firmware fw({lapic(0, 0, 1), lapic(1, 1, 1), lapic(2, 2, 0) /* disabled */, lapic(3, 6, 2) /* online capable */});
  const uint64_t rsdp = cos::x86::acpi::find_rsdp(0xe0000, 0x20000, Phys::read, &fw);
  ASSERT_EQ(rsdp, 0xf5a30u);
  Processors p{};
  ASSERT_TRUE(cos::x86::acpi::find_processors(rsdp, Phys::read, &fw, p));
  ASSERT_EQ(p.count, 3u);
  EXPECT_EQ(p.apic_id[0], 0u);
  EXPECT_EQ(p.apic_id[1], 1u);
  EXPECT_EQ(p.apic_id[2], 6u);
  EXPECT_EQ(p.lapic_base, 0xfee00000u);
}

TEST(AcpiMadt, Revision2UsesTheXsdt) {
  Firmware fw({lapic(0, 0, 1), lapic(1, 3, 1)}, 2);
  fw.mem[0x9000] = 'X';  // a broken RSDT: only the XSDT can lead to the MADT
  const uint64_t rsdp = cos::x86::acpi::find_rsdp(0xe0000, 0x20000, Phys::read, &fw);
  ASSERT_EQ(rsdp, 0xf5a30u);
  Processors p{};
  ASSERT_TRUE(cos::x86::acpi::find_processors(rsdp, Phys::read, &fw, p));
  ASSERT_EQ(p.count, 2u);
  EXPECT_EQ(p.apic_id[1], 3u);
}

TEST(AcpiMadt, BadChecksumsAndSignaturesAreIgnored) {
  Firmware fw({lapic(0, 0, 1), lapic(1, 1, 1)});
  Firmware bad_rsdp = fw;
  bad_rsdp.mem[0xf5a30 + 10] ^= 1;  // the RSDP's checksum fails
  EXPECT_EQ(cos::x86::acpi::find_rsdp(0xe0000, 0x20000, Phys::read, &bad_rsdp), 0u);
  Firmware bad_madt = fw;
  bad_madt.mem[0x8000 + 44 + 3] = 7;  // an APIC ID changed without the checksum
  Processors p{};
  EXPECT_FALSE(cos::x86::acpi::find_processors(0xf5a30, Phys::read, &bad_madt, p));
  EXPECT_EQ(p.count, 0u);
  Firmware no_memory = fw;
  no_memory.hole_start = 0x8010;  // the MADT's entries cannot be read
  no_memory.hole_end = 0x8100;
  EXPECT_FALSE(cos::x86::acpi::find_processors(0xf5a30, Phys::read, &no_memory, p));
}

TEST(AcpiMadt, X2apicEntriesOverrideAndLimits) {
  std::vector<uint8_t> override_entry(12, 0);
  override_entry[0] = 5;
  override_entry[1] = 12;
  le64(override_entry, 4, 0xfed00000ull);
  const auto body = madt_body({lapic(0, 0, 1), x2apic(5, 1), x2apic(300, 1), x2apic(7, 0), override_entry});
  const auto t = table("APIC", body);
  Processors p{};
  ASSERT_TRUE(cos::x86::acpi::parse_madt(t.data(), t.size(), p));
  ASSERT_EQ(p.count, 2u);
  EXPECT_EQ(p.apic_id[1], 5u);
  EXPECT_EQ(p.beyond_xapic, 1u) << "x2APIC ID 300 cannot be reached in xAPIC mode";
  EXPECT_EQ(p.lapic_base, 0xfed00000u);

  std::vector<std::vector<uint8_t>> many;
  for (unsigned i = 0; i < cos::x86::acpi::kMaxProcessors + 3; ++i) many.push_back(lapic(uint8_t(i), uint8_t(i), 1));
  const auto big = table("APIC", madt_body(many));
  ASSERT_TRUE(cos::x86::acpi::parse_madt(big.data(), big.size(), p));
  EXPECT_EQ(p.count, cos::x86::acpi::kMaxProcessors);
  EXPECT_EQ(p.beyond_table, 3u);
}

TEST(AcpiMadt, TruncatedAndZeroLengthEntriesEndTheList) {
  auto body = madt_body({lapic(0, 0, 1), lapic(1, 1, 1)});
  body.push_back(0);  // an entry of length 0 would loop for ever
  body.push_back(0);
  body.insert(body.end(), {0, 8, 2, 2, 1, 0, 0, 0});  // after it: not reached
  const auto t = table("APIC", body);
  Processors p{};
  ASSERT_TRUE(cos::x86::acpi::parse_madt(t.data(), t.size(), p));
  EXPECT_EQ(p.count, 2u);
  auto lying = t;
  le32(lying, 4, static_cast<uint32_t>(t.size() + 100));  // header length beyond the buffer
  EXPECT_FALSE(cos::x86::acpi::parse_madt(lying.data(), lying.size(), p));
}

}  // namespace
