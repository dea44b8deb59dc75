// vmtest: the guest-physical layout of small test guests and the pieces to
// start them in real, protected or long mode with exception handlers:
// IVT entries, 32- and 64-bit IDT gates, extra GDT descriptors (user and
// conforming segments), the TSS's IST stacks, and an identity map of up to
// 64 GiB with 2 MiB pages so that a guest reaches any guest-physical address
// with plain loads and stores.
//
// Gate and descriptor formats: Intel SDM Vol. 3A 6.11 (IDT descriptors,
// 32-bit), 6.14.1 (64-bit IDT gates), 3.4.5 (segment descriptors), 8.7
// (64-bit TSS, IST). Host-compilable.
#pragma once
#include <stdint.h>

#include "vmrt/error.hpp"
#include "vmrt/guest_memory.hpp"
#include "vmrt/vcpu_state.hpp"

namespace vmtest {

namespace vm = cos::vm;

enum class Mode : uint8_t { real, protected32, long64 };
const char* mode_name(Mode m);

/// The layout every test guest shares (guest-physical = guest-virtual).
namespace layout {
inline constexpr uint64_t kIvt = 0x0;
inline constexpr uint64_t kCode = 0x1000;       ///< the program (8 KiB)
inline constexpr uint64_t kCodeBytes = 0x2000;
inline constexpr uint64_t kHandlers = 0x3000;   ///< exception stubs and handlers (4 KiB)
inline constexpr uint64_t kMailbox = 0x4000;    ///< results the guest leaves for the VMM (4 KiB)
inline constexpr uint64_t kIdt = 0x5000;        ///< protected/long-mode IDT (4 KiB: 256 x 16)
inline constexpr uint64_t kIstTop = 0x7000;     ///< IST1 stack top (0x6000-0x6fff)
inline constexpr uint64_t kStackTop = 0x8000;   ///< the stack (0x7000-0x7fff)
inline constexpr uint64_t kBuffer = 0x8000;     ///< scratch (8 KiB)
inline constexpr uint64_t kGdt = 0xa000;        ///< vmrt::write_gdt + the extra descriptors below
inline constexpr uint64_t kTables = 0x10000;    ///< page-table pool
inline constexpr uint64_t kTablesBytes = 0x50000;
inline constexpr uint64_t kRamBytes = 0x100000; ///< 1 MiB of RAM by default
}  // namespace layout

/// Descriptors write_extra_gdt adds after vmrt's (its GDT ends at 0x37).
namespace sel {
inline constexpr uint16_t kUserCode64 = 0x38 | 3;  ///< DPL 3, 64-bit
inline constexpr uint16_t kUserData = 0x40 | 3;    ///< DPL 3, flat 32-bit data
inline constexpr uint16_t kUserCode32 = 0x48 | 3;  ///< DPL 3, flat 32-bit
inline constexpr uint16_t kConforming32 = 0x50;    ///< DPL 0, conforming, flat 32-bit code
inline constexpr uint16_t kConforming64 = 0x58;    ///< DPL 0, conforming, 64-bit code
/// An available 32-bit TSS over vmrt's TSS (gdt + vmrt::gdt::kTssOffset),
/// for protected-mode guests that load TR themselves (LTR).
inline constexpr uint16_t kTss32 = 0x60;
inline constexpr uint32_t kGdtLimit = 0x68 - 1;
}  // namespace sel

/// A code/data segment descriptor (base, 20-bit limit, packed 12-bit
/// attribute as in cos/vm.hpp: type, S, DPL, P, AVL, L, D/B, G).
uint64_t segment_descriptor(uint32_t base, uint32_t limit, uint16_t attr);
/// Writes vmrt's GDT (vmrt::write_gdt) at gdt_gpa plus the descriptors of
/// `sel`; the GDTR limit to use is sel::kGdtLimit.
vmrt::Status write_extra_gdt(vmrt::GuestMemory& mem, uint64_t gdt_gpa);
/// Sets IST entry `ist` (1..7) of the 64-bit TSS vmrt::write_gdt put at
/// gdt_gpa + vmrt::gdt::kTssOffset.
vmrt::Status set_ist(vmrt::GuestMemory& mem, uint64_t gdt_gpa, unsigned ist, uint64_t rsp);

/// Sets the stack of privilege-level changes to CPL 0 in the TSS at
/// gdt_gpa + vmrt::gdt::kTssOffset: RSP0 (64-bit TSS) in long mode, ESP0 and
/// SS0 = vmrt::gdt::kData (32-bit TSS) in protected mode.
vmrt::Status set_tss_stack(vmrt::GuestMemory& mem, uint64_t gdt_gpa, Mode mode, uint64_t rsp);

/// Gate types (the type/attribute byte: P, DPL, type).
namespace gate {
inline constexpr uint8_t kInterrupt32 = 0x8e, kTrap32 = 0x8f;  ///< present, DPL 0
inline constexpr uint8_t kInterrupt64 = 0x8e, kTrap64 = 0x8f;
}  // namespace gate
/// The 8 bytes of a 32-bit IDT gate.
void gate32(uint8_t out[8], uint32_t offset, uint16_t selector, uint8_t type_attr);
/// The 16 bytes of a 64-bit IDT gate.
void gate64(uint8_t out[16], uint64_t offset, uint16_t selector, uint8_t type_attr, uint8_t ist = 0);

/// Points real-mode vector `vector` at segment:offset. Errors: not_ram.
vmrt::Status set_ivt(vmrt::GuestMemory& mem, unsigned vector, uint16_t segment, uint16_t offset);
/// Writes an exception table for `count` vectors whose handlers are
/// stubs at stubs_gpa + vector * stride: the IVT at 0 (real mode; segment
/// 0), or 32-bit / 64-bit interrupt gates with the mode's code selector at
/// idt_gpa. Errors: not_ram.
vmrt::Status write_exception_table(vmrt::GuestMemory& mem, Mode mode, uint64_t idt_gpa, uint64_t stubs_gpa,
                                   unsigned stride, unsigned count);
/// Overwrites one gate of a table write_exception_table wrote.
vmrt::Status set_gate(vmrt::GuestMemory& mem, Mode mode, uint64_t idt_gpa, unsigned vector, uint64_t handler,
                      uint16_t selector, uint8_t type_attr, uint8_t ist = 0);

/// How enter() starts a guest.
struct Entry {
  Mode mode = Mode::real;
  uint64_t rip = layout::kCode;
  uint64_t rsp = layout::kStackTop;
  /// Long mode: identity-map [0, map_bytes) with writable user 2 MiB pages (2 + map_bytes
  /// / 1 GiB table pages from layout::kTables; at most 64 GiB). Protected
  /// mode: paging off (flat 4 GiB).
  uint64_t map_bytes = 4ull << 30;
  /// Exception stubs (stubs_gpa + vector * stride) for vectors 0..31; 0:
  /// no table (IDTR limit 0, a real-mode IVT of zeros).
  uint64_t stubs_gpa = 0;
  unsigned stub_stride = 16;
};
/// Puts the vCPU in `e.mode` at e.rip with the layout above: vmrt's
/// setup_* plus the extra GDT descriptors, IST1 = layout::kIstTop, the CPL 0
/// stack = layout::kStackTop, the exception table and the IDTR. Errors: those of the vmrt calls.
vmrt::Status enter(vmrt::VcpuState& v, vmrt::GuestMemory& mem, const Entry& e);

}  // namespace vmtest
