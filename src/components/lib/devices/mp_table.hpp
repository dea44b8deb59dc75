// cos::dev::MpTable — builds the Intel MultiProcessor Specification 1.4
// tables (MP floating pointer structure + MP configuration table, spec
// chapter 4) that tell an OS without ACPI (Linux with acpi=off) where the
// local APIC and the I/O APIC are and how the ISA interrupts are wired.
//
// Contents: one processor entry per CPU (Config::cpus; APIC IDs lapic_id,
// lapic_id + 1, ...; the first is the BSP, flags EN|BP, the others EN),
// one bus entry ("ISA", bus 0), one I/O APIC entry, I/O interrupt
// entries for the ISA IRQs (IRQ 0 -> INTIN2 like real chipsets; IRQ 2, the
// cascade, has no entry because INTIN2 is taken; the others IRQ n ->
// INTIN n; all "conforming" = edge/active high for ISA; see
// isa_irq_to_gsi), and local interrupt entries LINT0 = ExtINT and LINT1 =
// NMI (virtual wire mode; IMCRP clear, so no IMCR at ports 0x22/0x23). The
// floating pointer's feature byte 1 is 0: the configuration table is
// present (no default configuration).
//
// Placement: Linux scans the first KiB of RAM, the last KiB below 640 KiB
// (0x9fc00), the BIOS area 0xf0000-0xfffff and the first KiB of the EBDA
// for the floating pointer (16-byte aligned). Put the tables there (e.g.
// gpa 0xf0000) in memory the e820 map marks reserved (Linux reserves
// 0xa0000-0xfffff anyway).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::dev {

class MpTable {
 public:
  /// Most processor entries build() writes.
  static constexpr unsigned kMaxCpus = 8;

  struct Config {
    uint8_t cpus = 1;      ///< processors (1..kMaxCpus)
    uint8_t lapic_id = 0;  ///< the BSP's local APIC ID; processor i has lapic_id + i
    uint8_t lapic_version = 0x14;
    uint32_t lapic_base = 0xfee00000;
    /// CPUID.1:EAX (stepping, model, family) and CPUID.1:EDX for the
    /// processor entry (informational for Linux).
    uint32_t cpu_signature = 0x00000600;
    uint32_t cpu_features = 0x00000201;  // FPU, APIC
    uint8_t ioapic_id = 1;
    uint8_t ioapic_version = 0x11;
    uint32_t ioapic_base = 0xfec00000;
    const char* oem_id = "COS";          // up to 8 characters, space padded
    const char* product_id = "SIMPLEVMM";  // up to 12 characters
  };

  static constexpr size_t kFloatingPointerSize = 16;
  static constexpr size_t kHeaderSize = 44;
  static constexpr unsigned kIoInterruptEntries = 15;  // ISA IRQ 0-15 without 2
  static constexpr size_t kProcessorEntrySize = 20;
  /// The configuration table's bytes with `cpus` processor entries.
  static constexpr size_t config_table_size(unsigned cpus) {
    return kHeaderSize + cpus * kProcessorEntrySize + 8 + 8 + kIoInterruptEntries * 8 + 2 * 8;
  }
  /// Bytes build() writes for `cpus` processors: the floating pointer, then
  /// the configuration table.
  static constexpr size_t size(unsigned cpus) { return kFloatingPointerSize + config_table_size(cpus); }
  /// config_table_size(1) and size(1): one CPU.
  static constexpr size_t kConfigTableSize = kHeaderSize + kProcessorEntrySize + 8 + 8 + kIoInterruptEntries * 8 + 2 * 8;
  static constexpr size_t kSize = kFloatingPointerSize + kConfigTableSize;

  /// Writes the floating pointer at buf[0..16) — the guest sees buf[0] at
  /// guest-physical `gpa` — and the configuration table right after it (at
  /// gpa + 16). Returns size(config.cpus), or 0 if `len` is smaller, gpa is
  /// not 16-byte aligned, the tables would not lie below 4 GiB, or cpus is
  /// 0, above kMaxCpus or makes an APIC ID above 0xfe.
  static size_t build(uint8_t* buf, size_t len, uint64_t gpa, const Config& config);
  static size_t build(uint8_t* buf, size_t len, uint64_t gpa) { return build(buf, len, gpa, Config{}); }

  /// The 8-bit sum of `len` bytes (0 for a structure with a correct checksum).
  static uint8_t sum(const uint8_t* p, size_t len);
  /// True if a floating pointer at `gpa` lies where Linux looks for it
  /// (without an EBDA): [0, 0x400), [0x9fc00, 0xa0000), [0xf0000, 0x100000).
  static bool in_scanned_area(uint64_t gpa);
};

}  // namespace cos::dev
