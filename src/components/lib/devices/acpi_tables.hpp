// cos::dev::AcpiTables — the ACPI tables a Linux guest needs to find its
// interrupt controllers, power management timer and power-off register when
// the kernel has no MP-table support (Debian's cloud kernel is built without
// CONFIG_X86_MPPARSE): RSDP, XSDT, FADT (revision 4, with a FACS), a DSDT
// holding only the \_S5 sleep package, and a MADT with one processor local
// APIC entry per CPU (Config::cpus), the I/O APIC and the ISA interrupt
// overrides. ACPI 6.4, chapter 5
// ("ACPI Software Programming Model"): 5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT,
// 5.2.10 FACS, 5.2.12 MADT; 7.4.2 \_Sx objects.
//
// With Config::pci.present the DSDT also describes the PCI root bridge
// that PciHost models, so Linux enumerates bus 0 through ACPI:
//
//   Scope (\_SB) { Device (PCI0) {
//     Name (_HID, EisaId ("PNP0A03"))  Name (_UID, 0)  Name (_SEG, 0)  Name (_BBN, 0)
//     Name (_CRS, ResourceTemplate () {
//       WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, 0, 0, 0, 1)
//       IO (Decode16, 0xcf8, 0xcf8, 1, 8)             // configuration mechanism #1 (consumed)
//       WordIO (ResourceProducer, ..., 0x0000, 0x0cf7) WordIO (..., 0x0d00, 0xffff)
//       DWordMemory (ResourceProducer, ..., NonCacheable, ReadWrite, mmio_base, mmio_base + mmio_size - 1)
//     })
//     Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, 0, intx_gsi_base + (S + pin) % 4 }, ... })
//   } }
//
// ACPI 6.4: 6.1.5 _HID, 6.1.12 _UID, 6.5.6 _SEG, 6.5.5 _BBN, 6.2.2 _CRS,
// 6.2.13 _PRT (entries for slots 1-31, INTA#-INTD#, GSIs in APIC mode);
// PCI Firmware Specification 3.2, §4.1.1 (PNP0A03 host bridges). No MCFG:
// there is no ECAM, Linux uses configuration mechanism #1.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::dev {

class AmlWriter;

class AcpiTables {
 public:
  /// Most processor local APIC entries the MADT gets.
  static constexpr unsigned kMaxCpus = 8;

  struct Config {
    /// Processors (1..kMaxCpus): MADT entries with ACPI processor UIDs
    /// 0..cpus-1 and APIC IDs lapic_id + UID, all enabled; UID 0 is the BSP
    /// (the MADT lists it first, ACPI 6.4 §5.2.12.1 recommends that).
    uint8_t cpus = 1;
    uint8_t lapic_id = 0;
    uint32_t lapic_base = 0xfee00000;
    uint8_t ioapic_id = 1;
    uint32_t ioapic_base = 0xfec00000;
    uint16_t sci_irq = 9;
    /// Fixed-hardware register blocks in I/O space (AcpiPm's ports).
    uint16_t pm1a_evt = 0x600;   ///< 4 bytes: PM1 status, enable
    uint16_t pm1a_cnt = 0x604;   ///< 2 bytes: PM1 control
    uint16_t pm_tmr = 0x608;     ///< 4 bytes: 24/32-bit PM timer
    /// SLP_TYP value of \_S5 (soft off) written to PM1_CNT to power off.
    uint8_t s5_slp_typ = 5;
    /// The PCI root bridge (bus 0) to put in the DSDT; take the values
    /// from PciHost::Config.
    struct PciRoot {
      bool present = false;
      uint32_t mmio_base = 0xc0000000;  ///< the 32-bit MMIO window for BARs (bytes)
      uint32_t mmio_size = 0x10000000;
      uint8_t intx_gsi_base = 16;       ///< GSI of INTA# in slots 0, 4, 8, ...
    } pci;
  };

  /// Writes the tables into `buf` (guest-physical `gpa`, which must lie in
  /// 0xe0000..0xfffff and be 16-byte aligned so Linux's RSDP scan finds the
  /// RSDP at its start). Returns the bytes used, 0 if `len` is too small or
  /// the configuration is invalid (cpus 0 or above kMaxCpus, an APIC ID
  /// above 0xfe, an empty PCI window).
  static size_t build(uint8_t* buf, size_t len, uint64_t gpa, const Config& config);
  static size_t build(uint8_t* buf, size_t len, uint64_t gpa) { return build(buf, len, gpa, Config{}); }

  /// Writes the DSDT's definition blocks (everything after the 36-byte
  /// header: \_S5 and, if configured, \_SB.PCI0) through `aml`.
  static void write_dsdt_body(AmlWriter& aml, const Config& config);
  /// Writes Device (PCI0) as described above into the current scope.
  static void write_pci_root(AmlWriter& aml, const Config::PciRoot& pci);

  /// Sum of bytes (tables are valid when their checksum makes it 0).
  static uint8_t sum(const uint8_t* p, size_t len);
};

}  // namespace cos::dev
