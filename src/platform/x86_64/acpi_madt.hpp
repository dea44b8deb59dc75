// Finding the processors from the firmware's ACPI tables: the RSDP in the
// BIOS areas, the RSDT/XSDT it points to, and the MADT's local APIC
// entries (ACPI 6.5, 5.2.5 "Root System Description Pointer", 5.2.7/5.2.8
// RSDT/XSDT, 5.2.12 "Multiple APIC Description Table"). Pure logic over a
// caller-supplied view of physical memory: host-compilable and unit-tested.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace cos::x86::acpi {

/// At most this many processors are recorded; the rest are counted.
inline constexpr unsigned kMaxProcessors = 64;

/// The processors the MADT lists as usable (enabled, or online capable).
struct Processors {
  unsigned count;                      ///< entries in apic_id
  uint32_t apic_id[kMaxProcessors];    ///< local APIC IDs, in MADT order
  unsigned beyond_xapic;               ///< usable ones with an x2APIC ID above 254 (not recorded)
  unsigned beyond_table;               ///< usable ones past kMaxProcessors (not recorded)
  uint64_t lapic_base;                 ///< the MADT's local APIC address (or its 64-bit override)
};

/// Physical memory as the caller can read it: `len` bytes at `pa`, or
/// nullptr where they cannot be read (unmapped, beyond the direct map).
using PhysReader = const uint8_t* (*)(uint64_t pa, size_t len, void* ctx);

/// True when the `n` bytes at `p` sum to 0 modulo 256 (every ACPI checksum).
bool checksum_ok(const uint8_t* p, size_t n);

/// The physical address of a valid RSDP ("RSD PTR ", 16-byte aligned, the
/// ACPI 1.0 checksum over 20 bytes and, for revision >= 2, the extended one
/// over its length) among `len` bytes at physical `pa`, or 0.
uint64_t find_rsdp(uint64_t pa, size_t len, PhysReader read, void* ctx);

/// The MADT's processors, from the RSDP at `rsdp_pa` through the XSDT
/// (revision >= 2 and a non-zero address) or the RSDT; every table's
/// signature, length and checksum are checked. Type 0 (processor local
/// APIC) and type 9 (processor local x2APIC) entries count when their flags
/// have Enabled (bit 0) or Online Capable (bit 1); type 5 overrides the
/// local APIC address. Returns false (and `out.count == 0`) when there is
/// no valid MADT.
bool find_processors(uint64_t rsdp_pa, PhysReader read, void* ctx, Processors& out);

/// The same for a MADT already in memory (`len` bytes, header included).
bool parse_madt(const uint8_t* madt, size_t len, Processors& out);

}  // namespace cos::x86::acpi
