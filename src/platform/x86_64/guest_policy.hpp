// What the kernel keeps from every guest, whatever its VMM asks, on both
// backends (docs/virtualization.md, "What the kernel keeps"):
//   - #DB and #AC are always intercepted: their delivery can loop inside the
//     CPU without an exit (CVE-2015-8104, CVE-2015-5307); the kernel reflects
//     them to the guest itself unless the VMM asked to see them.
//   - RDPMC gets #GP(0) (no performance counters are offered), RDPRU #UD, and
//     the virtualization instructions (VMX's, or SVM's VMRUN, VMLOAD, VMSAVE,
//     STGI, CLGI, SKINIT, INVLPGA) #UD: there is no nested virtualization.
//   - DR0-DR3 (and DR6 on VMX, which does not switch it) belong to the vCPU:
//     accesses exit until the guest's first one, which makes its values live
//     in the hardware for its runs only (saved on every exit, loaded on every
//     entry). A guest never sees another's debug registers, and the host's
//     DR7 stays disabled (SVM: rewritten after the exit of a guest that
//     armed breakpoints, for QEMU's TCG, which otherwise keeps them armed).
//   - CR4.PKE is the host's: no guest turns protection keys on, so no guest
//     can execute RDPKRU/WRPKRU (#UD with CR4.PKE clear) and PKRU, which
//     neither VM entries nor exits switch, carries nothing between guests.
//     The host keeps its own CR4.PKE clear, so nobody ever writes PKRU.
//     SVM intercepts CR4 writes for it when the CPU has PKU (the kernel
//     emulates them); VMX puts the bit in the CR4 guest/host mask.
// Pure constants: host-compilable.
#pragma once
#include <stdint.h>

#include "x86_64/arch.hpp"

namespace cos::x86 {

/// Exceptions every vCPU intercepts.
inline constexpr uint32_t kForcedExceptions = (1u << Vector::db) | (1u << Vector::ac);
/// CR4 bits no guest may set, whatever its VMM loads or the guest writes.
inline constexpr uint64_t kHostOwnedCr4 = Cr4::pke;

/// What a MOV to CR4 is checked against.
struct Cr4WriteContext {
  uint64_t valid;         ///< the bits a guest may set (reserved and host-owned bits excluded)
  uint64_t cr0, cr3;      ///< the guest's current CR0 and CR3
  bool long_mode_active;  ///< EFER.LMA
};

/// True when a guest's MOV to CR4 of `value` (CR4 was `old`) raises #GP(0)
/// instead of taking effect: a bit outside `valid` (bits 63:32 included),
/// PAE cleared or LA57 changed in long mode, PCIDE set outside long mode or
/// with CR3[11:0] non-zero, CET without CR0.WP (Intel SDM Vol. 2B "MOV -
/// Move to/from Control Registers" and Vol. 3A 2.5; AMD APM Vol. 3 "MOV CRn").
constexpr bool cr4_write_faults(uint64_t old, uint64_t value, const Cr4WriteContext& c) {
  if (value & ~c.valid) return true;
  if (c.long_mode_active && !(value & Cr4::pae)) return true;
  if (c.long_mode_active && ((old ^ value) & Cr4::la57)) return true;
  if (!(old & Cr4::pcide) && (value & Cr4::pcide) && (!c.long_mode_active || (c.cr3 & 0xfff))) return true;
  if ((value & Cr4::cet) && !(c.cr0 & Cr0::wp)) return true;
  return false;
}

/// What a write to CR0 (MOV to CR0, LMSW, CLTS) is checked against.
struct Cr0WriteContext {
  uint64_t efer;  ///< the guest's EFER (LME)
  uint64_t cr4;   ///< the guest's CR4 (PAE, PCIDE)
  bool code64;    ///< the write comes from 64-bit code (EFER.LMA and CS.L)
};

/// True when a guest's write of `value` to CR0 (CR0 was `old`) raises
/// #GP(0) instead of taking effect: bits 63:32 set, PG without PE, NW
/// without CD, PG turned on with EFER.LME set and CR4.PAE clear, PG turned
/// off in 64-bit code or with CR4.PCIDE set (Intel SDM Vol. 2B "MOV - Move
/// to/from Control Registers", Vol. 3A 2.5 and 10.8.5; AMD APM Vol. 2,
/// 3.1.1 and 14.6.1).
constexpr bool cr0_write_faults(uint64_t old, uint64_t value, const Cr0WriteContext& c) {
  if (value >> 32) return true;
  if ((value & Cr0::pg) && !(value & Cr0::pe)) return true;
  if ((value & Cr0::nw) && !(value & Cr0::cd)) return true;
  const bool paging_on = !(old & Cr0::pg) && (value & Cr0::pg), paging_off = (old & Cr0::pg) && !(value & Cr0::pg);
  if (paging_on && (c.efer & Efer::lme) && !(c.cr4 & Cr4::pae)) return true;
  if (paging_off && (c.code64 || (c.cr4 & Cr4::pcide))) return true;
  return false;
}

/// The power-on value of DR6 and DR7 (Intel SDM Vol. 3B, 18.2.3 and 18.2.4).
inline constexpr uint64_t kDr6Reset = 0xffff0ff0ull, kDr7Reset = 0x400ull;
/// DR6.BS: the #DB is a single-step trap (RFLAGS.TF; SDM Vol. 3B, 18.2.3).
inline constexpr uint64_t kDr6SingleStep = 1ull << 14;
/// DR7 bits that enable a breakpoint (L0-L3, G0-G3).
inline constexpr uint64_t kDr7Enables = 0xffull;
/// DR7 R/W0 = 01 (break on writes): with no enable bit set, arms nothing.
inline constexpr uint64_t kDr7Rw0Write = 1ull << 16;

}  // namespace cos::x86
