// cos::dev::AcpiTables — the ACPI tables a Linux guest needs to find its
// interrupt controllers, power management timer and power-off register when
// the kernel has no MP-table support (Debian's cloud kernel is built without
// CONFIG_X86_MPPARSE): RSDP, XSDT, FADT (revision 4, with a FACS), a DSDT
// holding only the \_S5 sleep package, and a MADT with the local APIC, the
// I/O APIC and the ISA interrupt overrides. ACPI 6.4, chapter 5
// ("ACPI Software Programming Model"): 5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT,
// 5.2.10 FACS, 5.2.12 MADT; 7.4.2 \_Sx objects.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::dev {

class AcpiTables {
 public:
  struct Config {
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
  };

  /// Writes the tables into `buf` (guest-physical `gpa`, which must lie in
  /// 0xe0000..0xfffff and be 16-byte aligned so Linux's RSDP scan finds the
  /// RSDP at its start). Returns the bytes used, 0 if `len` is too small.
  static size_t build(uint8_t* buf, size_t len, uint64_t gpa, const Config& config);
  static size_t build(uint8_t* buf, size_t len, uint64_t gpa) { return build(buf, len, gpa, Config{}); }

  /// Sum of bytes (tables are valid when their checksum makes it 0).
  static uint8_t sum(const uint8_t* p, size_t len);
};

}  // namespace cos::dev
