// vmrt: initial vCPU modes. Each setup_* function gives a vCPU a complete,
// architecturally valid state (every group of vmrt::kLoadInitial, marked
// dirty so the next run loads it): general-purpose registers zero except
// rip/rsp, rflags 0x2, DR7 0x400, no intercepts, no interrupt shadow.
//
// Segment attributes use the packed format of cos/vm.hpp (AMD VMCB: bits 0-3
// type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G).
//
// Protected and long mode need a GDT in guest memory (write_gdt writes it
// and a TSS into one page); long mode also needs page tables (PageTableBuilder
// or build_identity_map in paging.hpp, or the caller's own).
//
// Host-compilable.
#pragma once
#include <stdint.h>

#include "vmrt/error.hpp"
#include "vmrt/guest_memory.hpp"
#include "vmrt/vcpu_state.hpp"

namespace vmrt {

/// Segment attributes (packed VMCB format).
namespace attr {
inline constexpr uint16_t kRealCode = 0x09b;  ///< present, code, exec/read, accessed; 16-bit
inline constexpr uint16_t kRealData = 0x093;  ///< present, data, read/write, accessed; 16-bit
inline constexpr uint16_t kCode32 = 0xc9b;    ///< + G, D: flat 32-bit code
inline constexpr uint16_t kData32 = 0xc93;    ///< + G, B: flat 32-bit data
inline constexpr uint16_t kCode64 = 0xa9b;    ///< + G, L: 64-bit code
inline constexpr uint16_t kTssBusy = 0x08b;   ///< present, busy 32/64-bit TSS
inline constexpr uint16_t kLdt = 0x082;       ///< present LDT
}  // namespace attr

/// The GDT write_gdt builds (selectors). Entries 0 and 1 are null, so the
/// code and data selectors match the Linux boot protocol's __BOOT_CS/__BOOT_DS.
namespace gdt {
inline constexpr uint16_t kCode32 = 0x10;
inline constexpr uint16_t kData = 0x18;
inline constexpr uint16_t kCode64 = 0x20;
inline constexpr uint16_t kTss = 0x28;       ///< a 16-byte TSS descriptor (0x28 and 0x30)
inline constexpr uint32_t kLimit = 7 * 8 - 1;
inline constexpr uint64_t kTssOffset = 0x100;  ///< the TSS lies this far into the GDT page
inline constexpr uint32_t kTssLimit = 0x67;
/// Bytes write_gdt uses at its address (one page).
inline constexpr uint64_t kAreaBytes = 4096;
}  // namespace gdt

/// Writes the GDT (null, null, code32, data, code64, TSS) and a zeroed TSS
/// into the page at gdt_gpa (4 KiB aligned). Errors: bad_argument, not_ram.
Status write_gdt(GuestMemory& mem, uint64_t gdt_gpa);

/// 16-bit real mode, as after reset but at cs:ip.
struct RealModeConfig {
  uint16_t cs = 0;     ///< code segment (base = cs << 4)
  uint16_t ip = 0;     ///< rip
  uint16_t ds = 0;     ///< data segments ds, es, fs, gs
  uint16_t ss = 0;
  uint16_t sp = 0;
};
/// Puts the vCPU in real mode: CR0 = ET|NE, segment limits 64 KiB, IDTR =
/// the IVT at 0 (limit 0x3ff), GDTR limit 0xffff, TR/LDTR present and empty.
void setup_real_mode(VcpuState& vcpu, const RealModeConfig& cfg);

/// 32-bit protected mode with flat segments from the library's GDT.
struct ProtectedModeConfig {
  uint32_t entry = 0;    ///< eip
  uint32_t stack = 0;    ///< esp
  uint64_t gdt_gpa = 0;  ///< where write_gdt puts the GDT and TSS (a page of guest RAM)
  uint32_t cr3 = 0;      ///< 0: paging off; else CR0.PG with these tables
  bool pae = false;      ///< with cr3: PAE paging (else 32-bit paging with CR4.PSE)
};
/// Writes the GDT and sets protected mode: CR0 = PE|ET|NE (+PG|WP with
/// paging), CS = gdt::kCode32, other segments gdt::kData, TR = gdt::kTss.
/// Errors: those of write_gdt.
Status setup_protected_mode(VcpuState& vcpu, GuestMemory& mem, const ProtectedModeConfig& cfg);

/// 64-bit long mode.
struct LongModeConfig {
  uint64_t entry = 0;    ///< rip
  uint64_t stack = 0;    ///< rsp
  uint64_t gdt_gpa = 0;  ///< where write_gdt puts the GDT and TSS
  uint64_t cr3 = 0;      ///< the PML4 (required: e.g. from build_identity_map)
  bool nxe = true;       ///< set EFER.NXE (NX bits in the tables are honoured)
  bool syscall = false;  ///< set EFER.SCE
};
/// Writes the GDT and sets IA-32e 64-bit mode: CR0 = PE|ET|NE|WP|PG, CR4 =
/// PAE, EFER = LME|LMA (+NXE, SCE), CS = gdt::kCode64 (L), data segments
/// gdt::kData, TR = gdt::kTss. Errors: bad_argument (cr3 is 0 or not
/// 4 KiB aligned), those of write_gdt.
Status setup_long_mode(VcpuState& vcpu, GuestMemory& mem, const LongModeConfig& cfg);

}  // namespace vmrt
