// The guest state of a VMCB: its reset value and the checks VMRUN would
// otherwise fail with VMEXIT_INVALID (AMD APM Vol. 2, 15.5.1 "Basic
// Operation", the consistency checks). Pure logic: host-compilable and
// unit-tested.
#pragma once
#include <stdint.h>

#include "x86_64/guest_policy.hpp"
#include "x86_64/svm/vmcb.hpp"

namespace cos::svm {

/// CR4 bits every 64-bit AMD CPU has: VME, PVI, TSD, DE, PSE, PAE, MCE,
/// PGE, PCE, OSFXSR, OSXMMEXCPT. VMXE and SMXE are reserved on AMD.
inline constexpr uint64_t kCr4Base = 0x7ffull;
/// What the checks depend on in the CPU (found at boot from CPUID).
struct GuestLimits {
  /// CR4 bits a guest may set: the rest is reserved and VMRUN refuses it
  /// (VMEXIT_INVALID; APM Vol. 2 15.5.1, "CR4 MBZ bits").
  uint64_t cr4_valid;
  /// MAXPHYADDR (CPUID 0x80000008 EAX[7:0]): CR3 bits at and above it are
  /// refused, as the VMX backend refuses them (SDM Vol. 3C 27.3.1.1).
  unsigned phys_bits;
};
/// CR4's valid bits for a CPU: kCr4Base plus UMIP, LA57, FSGSBASE, PCIDE,
/// OSXSAVE, SMEP, SMAP, PKE and CET where CPUID offers the feature
/// (leaf1_ecx = CPUID.1:ECX, leaf7_ebx/ecx = CPUID.(7,0):EBX/ECX; AMD APM
/// Vol. 2 3.1.3 and appendix E).
constexpr uint64_t cr4_valid_bits(uint32_t leaf1_ecx, uint32_t leaf7_ebx, uint32_t leaf7_ecx) {
  uint64_t v = kCr4Base;
  if (leaf7_ecx & (1u << 2)) v |= 1ull << 11;    // UMIP
  if (leaf7_ecx & (1u << 16)) v |= 1ull << 12;   // LA57
  if (leaf7_ebx & (1u << 0)) v |= 1ull << 16;    // FSGSBASE
  if (leaf1_ecx & (1u << 17)) v |= 1ull << 17;   // PCIDE
  if (leaf1_ecx & (1u << 26)) v |= 1ull << 18;   // OSXSAVE
  if (leaf7_ebx & (1u << 7)) v |= 1ull << 20;    // SMEP
  if (leaf7_ebx & (1u << 20)) v |= 1ull << 21;   // SMAP
  if (leaf7_ecx & (1u << 3)) v |= 1ull << 22;    // PKE
  if (leaf7_ecx & (1u << 7)) v |= 1ull << 23;    // CET
  return v;
}
/// The CR4 bits a guest may set on this CPU: what it offers
/// (cr4_valid_bits) but the bits the kernel keeps (x86_64/guest_policy.hpp:
/// PKE). A VMM's state with one of them is refused; a guest's MOV to CR4
/// that sets one gets #GP(0) (emulated by the kernel, exit.cpp).
constexpr uint64_t guest_cr4_valid(uint32_t leaf1_ecx, uint32_t leaf7_ebx, uint32_t leaf7_ecx) {
  return cr4_valid_bits(leaf1_ecx, leaf7_ebx, leaf7_ecx) & ~x86::kHostOwnedCr4;
}
/// EFER bits a guest may set on AMD (SCE, LME, LMA, NXE, SVME, LMSLE, FFXSR, TCE).
inline constexpr uint64_t kEferValid =
    Efer::sce | Efer::lme | Efer::lma | Efer::nxe | Efer::svme | Efer::lmsle | Efer::ffxsr | Efer::tce;
/// RFLAGS as VMRUN loads it: reserved bits cleared, bit 1 set.
constexpr uint64_t rflags_for_entry(uint64_t rflags) { return (rflags & ~Rflags::kReserved) | Rflags::fixed1; }

/// The control registers the checks look at.
struct CrState {
  uint64_t cr0, cr3, cr4, efer, dr7;
  uint16_t cs_attr;
};

/// Why VMRUN would refuse this state (a short text for the log), or nullptr
/// if it passes: CR0[63:32] and CR0.NW without CR0.CD, CR3 bits beyond the
/// physical-address width, CR4 bits the CPU does not offer, DR7 and EFER
/// reserved bits, long mode with paging but without PAE or PE, and CS.L
/// with CS.D in long mode (APM 15.5.1). EFER.SVME is forced on by the
/// kernel and not checked here.
const char* check_guest_state(const CrState& s, const GuestLimits& l);

/// Why a VMM's segment and descriptor-table state is refused, or nullptr:
/// bits 63:32 of the CS, SS, DS or ES base set, or a non-canonical FS, GS,
/// TR, LDTR, GDTR or IDTR base (only the groups in `mask`: vm::Load::
/// segments, vm::Load::dtables). VMRUN checks none of these (an AMD CPU
/// ignores the upper base bits outside 64-bit mode), but VMX refuses them
/// (Intel SDM Vol. 3C, 27.3.1.2 and 27.3.1.3) and QEMU's TCG uses them
/// as they are: both backends now refuse the same states.
const char* check_segment_bases(const vm::StatePage& s, uint64_t mask);

/// Puts a VMCB's save area into the processor's reset state (real mode at
/// F000:FFF0; APM Vol. 2, 14.1.3 "Processor Initialization State"), with
/// EFER.SVME set as VMRUN requires.
void reset_guest_state(Vmcb& c);

/// True for a TR the guest can run with: present, S = 0, a 16-bit or
/// 32/64-bit TSS type, available or busy (1, 3, 9, 11). VMRUN does not check
/// TR (the VMX backend does: SDM Vol. 3C 27.3.1.2), but QEMU's TCG aborts
/// ("invalid tss") when it delivers an interrupt with a privilege change
/// through any other TR; the kernel refuses it like VMX does.
constexpr bool tr_attr_valid(uint16_t attr) {
  return (attr & SegAttr::p) && !(attr & SegAttr::s) && (attr & 0x5) == 0x1;
}
/// TR's attributes in the VMCB: a busy TSS type as the available one. The
/// CPU ignores the busy flag of TR's cached type (it lives in the GDT
/// descriptor), but QEMU's TCG keeps TR's type available after LTR and
/// aborts ("invalid tss type") when it delivers an interrupt with a
/// privilege change in protected mode while TR holds the busy type a VMM
/// loads (and VMX requires).
constexpr uint16_t tr_attr_to_vmcb(uint16_t attr) { return tr_attr_valid(attr) ? attr & ~0x2 : attr; }
/// And back: the busy type both backends report.
constexpr uint16_t tr_attr_from_vmcb(uint16_t attr) { return tr_attr_valid(attr) ? attr | 0x2 : attr; }

/// LME held back: a guest whose EFER.LME is set while CR0.PG and CR4.PAE
/// are clear runs with EFER.LME clear in the VMCB. The state is valid and
/// LME does nothing until paging is turned on, but QEMU's TCG (7.2, and
/// later versions as of this writing) restores the host's CR0 at #VMEXIT
/// while the guest's EFER and CR4 are still loaded, through the same code
/// as a MOV to CR0, which silently ignores turning paging on with LME set
/// and PAE clear: the host would go on with the guest's CR0, paging off in
/// long mode, and the whole machine hangs fetching kernel addresses as
/// physical ones (found by guest_fuzz, seed 11 program 23628). While LME is
/// held back the guest's CR0 writes are intercepted (turning paging on is
/// the one thing LME changes) and emulated by the kernel; the VMM sees the
/// guest's real EFER (exit.cpp).
constexpr bool lme_held_back(uint64_t efer, uint64_t cr0, uint64_t cr4) {
  return (efer & Efer::lme) && !(cr0 & Cr0::pg) && !(cr4 & Cr4::pae);
}
/// With EFER.LME set and paging off the guest's CR4 writes are intercepted
/// (and emulated) even on a CPU without PKU, so that clearing CR4.PAE
/// cannot make the state above without the kernel seeing it.
constexpr bool lme_without_paging(uint64_t efer, uint64_t cr0) { return (efer & Efer::lme) && !(cr0 & Cr0::pg); }

/// The CPL VMRUN uses: SS.DPL in protected mode, 0 in real mode.
constexpr uint8_t cpl_for(const Vmcb& c) {
  return (c.cr0 & Cr0::pe) ? static_cast<uint8_t>(SegAttr::dpl(c.ss.attr)) : 0;
}

}  // namespace cos::svm
