// The guest-state area as the VMCS holds it, and the checks VM entry makes
// on it (Intel SDM Vol. 3C, 27.3.1 "Checks on the Guest State Area"; 26.3.1
// in editions before 2022), restricted to the
// configuration this backend uses: unrestricted guest, EPT, "load IA32_EFER",
// "load debug controls", no virtual-8086 guests, no SMM, activity state
// active. vcpu_load runs these checks so that a VMM's bad state is refused
// with bad_guest_state instead of failing VM entry. Pure logic:
// host-compilable and unit-tested.
#pragma once
#include <stdint.h>

#include "x86_64/guest_policy.hpp"
#include "x86_64/vmx/arch.hpp"
#include "cos/vm.hpp"
#include "x86_64/vmx/vmcs.hpp"

namespace cos::vmx {

struct SegmentState {
  uint16_t sel;
  uint32_t limit;
  uint64_t base;
  uint32_t ar;  ///< VMX access rights (bit 16: unusable)
};

/// Guest state in VMCS form: cr0/cr4 are the values the CPU runs with (VMX
/// fixed bits applied), efer includes LMA.
struct GuestState {
  uint64_t cr0, cr3, cr4, dr7, efer;
  uint64_t rsp, rip, rflags;
  SegmentState seg[kSegCount];  ///< indexed by Seg
  uint64_t gdtr_base, idtr_base;
  uint32_t gdtr_limit, idtr_limit;
  uint64_t sysenter_esp, sysenter_eip;
  uint32_t sysenter_cs;
  uint32_t interruptibility;
  bool ia32e;  ///< the "IA-32e mode guest" VM-entry control
};

/// What the CPU allows (from the VMX capability MSRs and CPUID).
struct GuestLimits {
  uint64_t cr0_fixed0, cr0_fixed1;  ///< IA32_VMX_CR0_FIXED0/1
  uint64_t cr4_fixed0, cr4_fixed1;  ///< IA32_VMX_CR4_FIXED0/1
  unsigned phys_bits;               ///< MAXPHYADDR (CPUID 0x80000008)
};

/// The CR4 bits a guest may set: what VMX allows (FIXED1) but VMXE (no
/// nested VMX) and the bits the kernel keeps (x86_64/guest_policy.hpp: PKE).
constexpr uint64_t cr4_guest_valid(const GuestLimits& l) { return l.cr4_fixed1 & ~(Cr4::vmxe | x86::kHostOwnedCr4); }

/// The CR0 bits the guest cannot choose: fixed to 1 by VMX except PE and
/// PG, which unrestricted guests may clear.
constexpr uint64_t cr0_forced_on(const GuestLimits& l) { return l.cr0_fixed0 & ~(Cr0::pe | Cr0::pg); }

/// CD and NW are not switched by VM entries and exits (SDM Vol. 3C, 27.3.2.1
/// and 28.5.1): the guest runs with the host's. The guest only ever sees its
/// own values (the CR0 read shadow); the CPU never gets them.
inline constexpr uint64_t kCr0CacheBits = Cr0::cd | Cr0::nw;

/// The CR0 bits the host owns (guest/host mask) unless the VMM intercepts
/// all CR writes: the forced ones and the cache-control bits.
constexpr uint64_t cr0_host_owned(const GuestLimits& l) { return cr0_forced_on(l) | kCr0CacheBits; }

/// The CR0 the CPU runs the guest with for the guest-visible value `cr0`.
constexpr uint64_t cr0_real(uint64_t cr0, const GuestLimits& l) { return (cr0 & ~kCr0CacheBits) | cr0_forced_on(l); }

/// True if `v` is canonical for 48-bit linear addresses.
constexpr bool canonical(uint64_t v) {
  uint64_t top = v >> 47;
  return top == 0 || top == 0x1ffff;
}

/// Runs the VM-entry checks on `g`. Returns nullptr if VM entry would
/// accept it, else a short description of the first failed check.
const char* check_guest_state(const GuestState& g, const GuestLimits& l);

/// Checks four PAE page-directory-pointer-table entries (SDM Vol. 3A,
/// 4.4.1: a present entry has bits 2:1, 8:5 and those above MAXPHYADDR clear).
bool pdptes_valid(const uint64_t pdpte[4], unsigned phys_bits);

/// True if the guest uses PAE paging without IA-32e mode (VM entry then
/// loads the PDPTEs from the VMCS).
constexpr bool uses_pae_pdptes(const GuestState& g) {
  return (g.cr0 & Cr0::pg) && (g.cr4 & Cr4::pae) && !g.ia32e;
}

/// The reset state of a processor (SDM Vol. 3A, table 10-1): real mode at
/// F000:FFF0, CR0 = CD|NW|ET as the guest sees it (kResetCr0, the read
/// shadow); the CPU gets cr0_real() of it.
inline constexpr uint64_t kResetCr0 = Cr0::cd | Cr0::nw | Cr0::et;
GuestState reset_guest_state(const GuestLimits& l);

/// VMX segment state for a vm::Segment. Where SVM (which checks little)
/// accepts a value VMX refuses for no architectural reason, it is made
/// acceptable: code/data segments are marked accessed (the CPU sets that bit
/// on every load anyway), and TR, which VMX requires to be a busy TSS,
/// becomes one (an unusable TR, e.g. attr 0, becomes a busy 32-bit TSS).
SegmentState segment_from_abi(Seg s, const vm::Segment& seg);
/// The vm::Segment for VMX segment state.
vm::Segment segment_to_abi(const SegmentState& r);

/// The guest-visible CR0/CR4: host-owned bits (those in the guest/host
/// mask) come from the read shadow.
constexpr uint64_t visible_cr(uint64_t real, uint64_t shadow, uint64_t mask) {
  return (real & ~mask) | (shadow & mask);
}

/// What vcpu_load does before writing anything: overlays the groups in
/// `mask` of the state page `s` on the vCPU's current state `g`, with the
/// guest-visible CR0/CR4 in `cr0`/`cr4` (updated too), then runs the VM-entry
/// checks. Returns nullptr if the result may be loaded, else why not. The
/// SYSCALL MSRs, CR2, GPRs and events are not part of GuestState; this only
/// checks the MSRs (a non-canonical LSTAR would fault in WRMSR).
const char* overlay_state(GuestState& g, uint64_t& cr0, uint64_t& cr4, const vm::StatePage& s, uint64_t mask,
                          const GuestLimits& l);

}  // namespace cos::vmx
