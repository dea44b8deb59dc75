#include "devices/acpi_tables.hpp"

#include "devices/aml.hpp"

namespace cos::dev {
namespace {

struct Writer {
  uint8_t* buf;
  size_t len;
  size_t pos = 0;
  bool ok = true;

  uint8_t* at(size_t off) { return buf + off; }
  void u8(size_t off, uint8_t v) {
    if (off < len) buf[off] = v;
    else ok = false;
  }
  void u16(size_t off, uint16_t v) { u8(off, v & 0xff), u8(off + 1, v >> 8); }
  void u32(size_t off, uint32_t v) { u16(off, v & 0xffff), u16(off + 2, v >> 16); }
  void u64(size_t off, uint64_t v) { u32(off, static_cast<uint32_t>(v)), u32(off + 4, static_cast<uint32_t>(v >> 32)); }
  void bytes(size_t off, const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) u8(off + i, static_cast<uint8_t>(s[i]));
  }
  size_t alloc(size_t n, size_t align) {
    pos = (pos + align - 1) & ~(align - 1);
    size_t at = pos;
    pos += n;
    if (pos > len) ok = false;
    for (size_t i = at; i < pos && i < len; ++i) buf[i] = 0;
    return at;
  }
  // The 36-byte system description table header (ACPI 6.4, 5.2.6).
  void header(size_t off, const char* sig, uint32_t length, uint8_t revision) {
    bytes(off, sig, 4);
    u32(off + 4, length);
    u8(off + 8, revision);
    bytes(off + 10, "COS   ", 6);     // OEMID
    bytes(off + 16, "COSVMM  ", 8);   // OEM table ID
    u32(off + 24, 1);                 // OEM revision
    bytes(off + 28, "COS ", 4);       // creator ID
    u32(off + 32, 1);                 // creator revision
  }
  void checksum(size_t off, size_t n, size_t field) {
    if (!ok) return;
    u8(field, 0);
    u8(field, static_cast<uint8_t>(0x100 - AcpiTables::sum(buf + off, n)));
  }
};

}  // namespace

uint8_t AcpiTables::sum(const uint8_t* p, size_t len) {
  uint8_t s = 0;
  for (size_t i = 0; i < len; ++i) s = static_cast<uint8_t>(s + p[i]);
  return s;
}

void AcpiTables::write_dsdt_body(AmlWriter& aml, const Config& c) {
  // Name (_S5, Package () { SLP_TYP, 0 }): PM1a_CNT.SLP_TYP for soft off
  // (7.4.2.6); PM1b does not exist.
  aml.name("_S5");
  aml.package();
  aml.integer(c.s5_slp_typ);
  aml.integer(0);
  aml.end();
  if (c.pci.present) {
    aml.scope("\\_SB");
    write_pci_root(aml, c.pci);
    aml.end();
  }
}

void AcpiTables::write_pci_root(AmlWriter& aml, const Config::PciRoot& pci) {
  constexpr uint8_t kWindow = AmlWriter::kMinFixed | AmlWriter::kMaxFixed;  // producer, positive decode
  aml.device("PCI0");
  aml.name("_HID");
  aml.eisa_id("PNP0A03");
  aml.name("_UID");
  aml.integer(0);
  aml.name("_SEG");
  aml.integer(0);
  aml.name("_BBN");
  aml.integer(0);
  aml.name("_CRS");
  aml.resource_template();
  aml.word_bus_number(kWindow, 0, 0);
  aml.io_port(0xcf8, 0xcf8, 1, 8);
  aml.word_io(kWindow, 0x0000, 0x0cf7);
  aml.word_io(kWindow, 0x0d00, 0xffff);
  // NonCacheable, ReadWrite (type-specific flags 0x01).
  aml.dword_memory(kWindow, 0x01, pci.mmio_base, pci.mmio_base + pci.mmio_size - 1);
  aml.end();
  // _PRT entries: Address = slot << 16 | 0xffff (any function), Pin
  // (0 = INTA#), Source 0 (a GSI, not a link device), Source Index = GSI.
  aml.name("_PRT");
  aml.package();
  for (unsigned slot = 1; slot < 32; ++slot) {
    for (unsigned pin = 0; pin < 4; ++pin) {
      aml.package();
      aml.integer(uint64_t(slot) << 16 | 0xffff);
      aml.integer(pin);
      aml.integer(0);
      aml.integer(pci.intx_gsi_base + (slot + pin) % 4);
      aml.end();
    }
  }
  aml.end();
  aml.end();
}

size_t AcpiTables::build(uint8_t* buf, size_t len, uint64_t gpa, const Config& c) {
  if (c.cpus == 0 || c.cpus > kMaxCpus || c.lapic_id + c.cpus - 1 > 0xfe) return 0;
  Writer w{buf, len};
  // RSDP (revision 2: 36 bytes, checksum over the first 20, extended over all).
  size_t rsdp = w.alloc(36, 16);
  // DSDT: header + AML (ACPI 6.4, 20.2), written in place.
  size_t dsdt = w.alloc(36, 16);
  if (!w.ok) return 0;
  AmlWriter aml(buf + dsdt + 36, len - dsdt - 36);
  write_dsdt_body(aml, c);
  if (!aml.ok()) return 0;
  size_t dsdt_len = 36 + aml.size();
  w.pos += aml.size();
  size_t facs = w.alloc(64, 64);
  size_t fadt = w.alloc(244, 16);
  size_t madt_len = 44 + 8 * c.cpus + 12 + 10 + 10 + 6;
  size_t madt = w.alloc(madt_len, 16);
  size_t xsdt = w.alloc(36 + 2 * 8, 16);
  if (!w.ok) return 0;

  // DSDT
  w.header(dsdt, "DSDT", static_cast<uint32_t>(dsdt_len), 2);
  w.checksum(dsdt, dsdt_len, dsdt + 9);

  // FACS (no checksum): signature, length, hardware signature, waking vector, version.
  w.bytes(facs, "FACS", 4);
  w.u32(facs + 4, 64);
  w.u8(facs + 32, 2);

  // FADT revision 4 (ACPI 6.4, table 5.9; the 32-bit block fields are used,
  // the X_ ones left zero).
  w.header(fadt, "FACP", 244, 4);
  w.u32(fadt + 36, static_cast<uint32_t>(gpa + facs));  // FIRMWARE_CTRL
  w.u32(fadt + 40, static_cast<uint32_t>(gpa + dsdt));  // DSDT
  w.u16(fadt + 46, c.sci_irq);                           // SCI_INT
  w.u32(fadt + 48, 0);                                   // SMI_CMD: ACPI mode is always on
  w.u32(fadt + 56, c.pm1a_evt);                          // PM1a_EVT_BLK
  w.u32(fadt + 64, c.pm1a_cnt);                          // PM1a_CNT_BLK
  w.u32(fadt + 76, c.pm_tmr);                            // PM_TMR_BLK
  w.u8(fadt + 88, 4);                                    // PM1_EVT_LEN
  w.u8(fadt + 89, 2);                                    // PM1_CNT_LEN
  w.u8(fadt + 91, 4);                                    // PM_TMR_LEN
  w.u16(fadt + 96, 101);                                 // P_LVL2_LAT > 100: no C2
  w.u16(fadt + 98, 1001);                                // P_LVL3_LAT > 1000: no C3
  w.u16(fadt + 109, 0x0003);                             // IAPC_BOOT_ARCH: legacy devices, 8042
  w.u32(fadt + 112, (1u << 0) | (1u << 8));              // flags: WBINVD, TMR_VAL_EXT (32-bit timer)
  w.u8(fadt + 131, 1);                                   // FADT minor version
  w.u64(fadt + 132, gpa + facs);                         // X_FIRMWARE_CTRL
  w.u64(fadt + 140, gpa + dsdt);                         // X_DSDT
  w.checksum(fadt, 244, fadt + 9);

  // MADT (ACPI 6.4, 5.2.12): local APIC address, PCAT_COMPAT (8259s present),
  // then one processor local APIC per CPU (5.2.12.2: type 0, length 8, ACPI
  // processor UID, APIC ID, flags bit 0 Enabled), the I/O APIC, two interrupt
  // source overrides and the local APIC NMI on LINT1 of every processor.
  w.header(madt, "APIC", static_cast<uint32_t>(madt_len), 4);
  w.u32(madt + 36, c.lapic_base);
  w.u32(madt + 40, 1);
  size_t e = madt + 44;
  for (unsigned i = 0; i < c.cpus; ++i, e += 8)
    w.u8(e, 0), w.u8(e + 1, 8), w.u8(e + 2, static_cast<uint8_t>(i)), w.u8(e + 3, static_cast<uint8_t>(c.lapic_id + i)),
        w.u32(e + 4, 1);  // enabled
  w.u8(e, 1), w.u8(e + 1, 12), w.u8(e + 2, c.ioapic_id), w.u32(e + 4, c.ioapic_base), w.u32(e + 8, 0);
  e += 12;
  // ISA IRQ 0 (PIT) -> GSI 2, conforming polarity/trigger.
  w.u8(e, 2), w.u8(e + 1, 10), w.u8(e + 2, 0), w.u8(e + 3, 0), w.u32(e + 4, 2), w.u16(e + 8, 0);
  e += 10;
  // The SCI: active high, level triggered (flags 0x000d).
  w.u8(e, 2), w.u8(e + 1, 10), w.u8(e + 2, 0), w.u8(e + 3, static_cast<uint8_t>(c.sci_irq)), w.u32(e + 4, c.sci_irq),
      w.u16(e + 8, 0x000d);
  e += 10;
  // Local APIC NMI: all processors (0xff), LINT1.
  w.u8(e, 4), w.u8(e + 1, 6), w.u8(e + 2, 0xff), w.u16(e + 3, 0), w.u8(e + 5, 1);
  w.checksum(madt, madt_len, madt + 9);

  // XSDT: FADT, MADT.
  w.header(xsdt, "XSDT", 36 + 16, 1);
  w.u64(xsdt + 36, gpa + fadt);
  w.u64(xsdt + 44, gpa + madt);
  w.checksum(xsdt, 52, xsdt + 9);

  // RSDP: "RSD PTR ", checksum (first 20 bytes), OEMID, revision 2, RSDT
  // address (none), length, XSDT address, extended checksum.
  w.bytes(rsdp, "RSD PTR ", 8);
  w.bytes(rsdp + 9, "COS   ", 6);
  w.u8(rsdp + 15, 2);
  w.u32(rsdp + 20, 36);
  w.u64(rsdp + 24, gpa + xsdt);
  w.checksum(rsdp, 20, rsdp + 8);
  w.checksum(rsdp, 36, rsdp + 32);
  return w.ok ? w.pos : 0;
}

}  // namespace cos::dev
