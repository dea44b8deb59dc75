// VM-entry checks on the guest-state area (see guest_state.hpp).
#include "x86_64/vmx/guest_state.hpp"

#include "x86_64/vmx/decode.hpp"

namespace cos::vmx {
namespace {

constexpr uint64_t kDr7Fixed1 = 0x400;

bool phys_ok(uint64_t pa, unsigned bits) { return bits >= 64 || (pa >> bits) == 0; }

// Limit and granularity agree (27.3.1.2): limit[11:0] not all ones -> G = 0;
// limit[31:20] not all zero -> G = 1. Reserved access-rights bits are 0.
bool limit_ok(const SegmentState& s) {
  if (s.ar & 0xfffe0f00u) return false;
  if ((s.limit & 0xfff) != 0xfff && (s.ar & kArG)) return false;
  if ((s.limit & 0xfff00000u) && !(s.ar & kArG)) return false;
  return true;
}

bool usable(const SegmentState& s) { return !(s.ar & kArUnusable); }

/// CS, SS, DS, ES, FS and GS outside virtual-8086 mode.
const char* check_code_data_segments(const GuestState& g) {
  const SegmentState& cs = g.seg[unsigned(Seg::cs)];
  const SegmentState& ss = g.seg[unsigned(Seg::ss)];
  const bool pe = g.cr0 & Cr0::pe;

  // CS.
  if (!usable(cs)) return "CS unusable";
  switch (ar_type(cs.ar)) {
    case 3:
      if (ar_dpl(cs.ar) != 0) return "CS is a data segment with DPL != 0";
      break;
    case 9: case 11:
      if (ar_dpl(cs.ar) != ar_dpl(ss.ar)) return "non-conforming CS.DPL != SS.DPL";
      break;
    case 13: case 15:
      if (ar_dpl(cs.ar) > ar_dpl(ss.ar)) return "conforming CS.DPL > SS.DPL";
      break;
    default: return "CS type is not an accessed code segment";
  }
  if (!(cs.ar & kArS)) return "CS is a system segment";
  if (!(cs.ar & kArPresent)) return "CS not present";
  if (!limit_ok(cs)) return "CS limit/granularity or reserved access rights";
  if (g.ia32e && (cs.ar & kArL) && (cs.ar & kArDb)) return "64-bit CS with D set";

  // SS.
  if (usable(ss)) {
    if (ar_type(ss.ar) != 3 && ar_type(ss.ar) != 7) return "SS type is not a writable accessed data segment";
    if (!(ss.ar & kArS)) return "SS is a system segment";
    if (!(ss.ar & kArPresent)) return "SS not present";
    if (!limit_ok(ss)) return "SS limit/granularity or reserved access rights";
  }
  if ((!pe || ar_type(cs.ar) == 3) && ar_dpl(ss.ar) != 0) return "SS.DPL != 0 in real mode";

  // DS, ES, FS, GS.
  constexpr Seg kDataSegs[] = {Seg::es, Seg::ds, Seg::fs, Seg::gs};
  for (Seg s : kDataSegs) {
    const SegmentState& r = g.seg[unsigned(s)];
    if (!usable(r)) continue;
    if (!(ar_type(r.ar) & 1)) return "data segment not accessed";
    if ((ar_type(r.ar) & 8) && !(ar_type(r.ar) & 2)) return "code segment in DS/ES/FS/GS not readable";
    if (!(r.ar & kArS)) return "DS/ES/FS/GS is a system segment";
    if (!(r.ar & kArPresent)) return "DS/ES/FS/GS not present";
    if (!limit_ok(r)) return "DS/ES/FS/GS limit/granularity or reserved access rights";
  }

  return nullptr;
}

const char* check_segments(const GuestState& g) {
  const SegmentState& cs = g.seg[unsigned(Seg::cs)];
  const SegmentState& tr = g.seg[unsigned(Seg::tr)];
  const SegmentState& ldtr = g.seg[unsigned(Seg::ldtr)];

  // Selectors.
  if (tr.sel & 4) return "TR selector has TI set";
  if (usable(ldtr) && (ldtr.sel & 4)) return "LDTR selector has TI set";

  // Bases.
  if (!canonical(tr.base)) return "TR base not canonical";
  if (!canonical(g.seg[unsigned(Seg::fs)].base)) return "FS base not canonical";
  if (!canonical(g.seg[unsigned(Seg::gs)].base)) return "GS base not canonical";
  if (usable(ldtr) && !canonical(ldtr.base)) return "LDTR base not canonical";
  if (cs.base >> 32) return "CS base above 4 GiB";
  constexpr Seg kSsDsEs[] = {Seg::ss, Seg::ds, Seg::es};
  for (Seg s : kSsDsEs) {
    const SegmentState& r = g.seg[unsigned(s)];
    if (usable(r) && (r.base >> 32)) return "SS/DS/ES base above 4 GiB";
  }

  if (g.rflags & Rflags::vm) {
    // Virtual-8086 mode: the six segment registers are what a real-mode
    // load makes them, with DPL 3.
    for (unsigned i = 0; i < 6; ++i) {
      const SegmentState& r = g.seg[i];
      if (r.base != uint64_t(r.sel) << 4 || r.limit != 0xffff || r.ar != 0xf3)
        return "virtual-8086 segment is not selector << 4, limit 0xffff, attributes 0xf3";
    }
  } else if (const char* why = check_code_data_segments(g)) {
    return why;
  }

  // TR.
  if (!usable(tr)) return "TR unusable";
  if (ar_type(tr.ar) != 11 && (g.ia32e || ar_type(tr.ar) != 3)) return "TR type is not a busy TSS";
  if (tr.ar & kArS) return "TR is not a system segment";
  if (!(tr.ar & kArPresent)) return "TR not present";
  if (!limit_ok(tr)) return "TR limit/granularity or reserved access rights";

  // LDTR.
  if (usable(ldtr)) {
    if (ar_type(ldtr.ar) != 2) return "LDTR type is not LDT";
    if (ldtr.ar & kArS) return "LDTR is not a system segment";
    if (!(ldtr.ar & kArPresent)) return "LDTR not present";
    if (!limit_ok(ldtr)) return "LDTR limit/granularity or reserved access rights";
  }
  return nullptr;
}

}  // namespace

const char* check_guest_state(const GuestState& g, const GuestLimits& l) {
  // 27.3.1.1 Control registers, debug registers and MSRs.
  if (~g.cr0 & cr0_forced_on(l)) return "CR0 lacks a bit VMX requires (NE)";
  if (g.cr0 & ~l.cr0_fixed1) return "CR0 has a reserved bit set";
  if ((g.cr0 & Cr0::pg) && !(g.cr0 & Cr0::pe)) return "CR0.PG without CR0.PE";
  if ((g.cr0 & Cr0::nw) && !(g.cr0 & Cr0::cd)) return "CR0.NW without CR0.CD";
  if (~g.cr4 & l.cr4_fixed0) return "CR4 lacks a bit VMX requires (VMXE)";
  if (g.cr4 & x86::kHostOwnedCr4) return "CR4.PKE (the kernel keeps protection keys from guests)";
  if (g.cr4 & ~l.cr4_fixed1) return "CR4 has a reserved or unsupported bit set";
  if ((g.cr4 & Cr4::cet) && !(g.cr0 & Cr0::wp)) return "CR4.CET without CR0.WP";
  if (!phys_ok(g.cr3, l.phys_bits)) return "CR3 beyond the physical-address width";
  if (g.ia32e) {
    if (!(g.cr0 & Cr0::pg) || !(g.cr4 & Cr4::pae)) return "IA-32e mode without CR0.PG and CR4.PAE";
  } else if (g.cr4 & Cr4::pcide) {
    return "CR4.PCIDE outside IA-32e mode";
  }
  if (g.dr7 >> 32) return "DR7 bits 63:32 set";
  if (!canonical(g.sysenter_esp) || !canonical(g.sysenter_eip)) return "SYSENTER_ESP/EIP not canonical";
  if (g.efer & ~Efer::kValid) return "EFER has a reserved bit set";
  if (bool(g.efer & Efer::lma) != g.ia32e) return "EFER.LMA does not match IA-32e mode";
  if ((g.cr0 & Cr0::pg) && bool(g.efer & Efer::lma) != bool(g.efer & Efer::lme))
    return "EFER.LMA != EFER.LME with paging on";

  // 27.3.1.2 Segment registers.
  if (const char* why = check_segments(g)) return why;

  // 27.3.1.3 Descriptor-table registers.
  if (!canonical(g.gdtr_base) || !canonical(g.idtr_base)) return "GDTR/IDTR base not canonical";
  if (g.gdtr_limit > 0xffff || g.idtr_limit > 0xffff) return "GDTR/IDTR limit above 0xffff";

  // 27.3.1.4 RIP and RFLAGS.
  const bool long_cs = g.ia32e && (g.seg[unsigned(Seg::cs)].ar & kArL);
  if (long_cs ? !canonical(g.rip) : (g.rip >> 32) != 0) return "RIP out of range for the mode";
  if (g.rflags & Rflags::kReserved) return "RFLAGS has a reserved bit set";
  if (!(g.rflags & Rflags::fixed1)) return "RFLAGS bit 1 clear";
  if ((g.rflags & Rflags::vm) && (g.ia32e || !(g.cr0 & Cr0::pe))) return "RFLAGS.VM in IA-32e or real mode";

  // 27.3.1.5 Non-register state (activity state is always active here).
  if (g.interruptibility & ~0x1fu) return "interruptibility reserved bits";
  if ((g.interruptibility & 3) == 3) return "blocking by STI and by MOV SS";
  if ((g.interruptibility & Interruptibility::blocking_by_sti) && !(g.rflags & Rflags::if_))
    return "blocking by STI with RFLAGS.IF = 0";
  if (g.interruptibility & Interruptibility::blocking_by_smi) return "blocking by SMI outside SMM";
  return nullptr;
}

GuestState reset_guest_state(const GuestLimits& l) {
  GuestState g{};
  g.cr0 = cr0_real(kResetCr0, l);
  g.cr4 = l.cr4_fixed0;
  g.dr7 = kDr7Fixed1;
  g.rip = 0xfff0;
  g.rflags = Rflags::fixed1;
  for (unsigned i = 0; i < kSegCount; ++i) g.seg[i] = SegmentState{0, 0xffff, 0, 0x93};
  g.seg[unsigned(Seg::cs)] = SegmentState{0xf000, 0xffff, 0xffff0000, 0x9b};
  g.seg[unsigned(Seg::ldtr)] = SegmentState{0, 0xffff, 0, 0x82};
  g.seg[unsigned(Seg::tr)] = SegmentState{0, 0xffff, 0, 0x8b};
  g.gdtr_limit = g.idtr_limit = 0xffff;
  return g;
}

SegmentState segment_from_abi(Seg s, const vm::Segment& seg) {
  SegmentState r{seg.selector, seg.limit, seg.base, ar_from_attr(seg.attr)};
  if (s == Seg::tr) {
    if (r.ar & kArUnusable) r.ar = 0x8b;
    else if (ar_type(r.ar) == 1 || ar_type(r.ar) == 9) r.ar |= 2;
  } else if (!(r.ar & kArUnusable) && (r.ar & kArS)) {
    r.ar |= 1;
  }
  return r;
}

vm::Segment segment_to_abi(const SegmentState& r) { return vm::Segment{r.sel, attr_from_ar(r.ar), r.limit, r.base}; }

const char* overlay_state(GuestState& g, uint64_t& cr0, uint64_t& cr4, const vm::StatePage& s, uint64_t mask,
                          const GuestLimits& l) {
  constexpr uint32_t kStiMovSs = Interruptibility::blocking_by_sti | Interruptibility::blocking_by_mov_ss;
  const uint64_t rip_before = g.rip;
  if (mask & vm::Load::regs) {
    g.rsp = s.regs.rsp;
    g.rip = s.regs.rip;
    // Reserved RFLAGS bits read as the hardware keeps them (as on SVM).
    g.rflags = (s.regs.rflags & ~Rflags::kReserved) | Rflags::fixed1;
  }
  if (mask & vm::Load::cr) {
    if ((s.cr0 | s.cr4) >> 32) return "CR0/CR4 bits 63:32 set";
    if (s.cr4 & Cr4::vmxe) return "CR4.VMXE (nested VMX is not supported)";
    if ((s.cr0 & Cr0::nw) && !(s.cr0 & Cr0::cd)) return "CR0.NW without CR0.CD";
    cr0 = s.cr0;
    cr4 = s.cr4;
    g.cr0 = cr0_real(cr0, l);
    g.cr4 = cr4 | l.cr4_fixed0;
    g.cr3 = s.cr3;
    g.dr7 = s.dr7 | kDr7Fixed1;
    // The "IA-32e mode guest" control follows EFER.LME and CR0.PG; LMA with it.
    g.ia32e = (s.efer & Efer::lme) && (cr0 & Cr0::pg);
    g.efer = g.ia32e ? (s.efer | Efer::lma) : (s.efer & ~Efer::lma);
  }
  if (mask & vm::Load::segments) {
    const vm::Segment* in[kSegCount] = {&s.es, &s.cs, &s.ss, &s.ds, &s.fs, &s.gs, &s.ldtr, &s.tr};
    for (unsigned i = 0; i < kSegCount; ++i) g.seg[i] = segment_from_abi(Seg(i), *in[i]);
  }
  if (mask & vm::Load::dtables) {
    g.gdtr_base = s.gdtr.base;
    g.gdtr_limit = s.gdtr.limit;
    g.idtr_base = s.idtr.base;
    g.idtr_limit = s.idtr.limit;
  }
  if (mask & vm::Load::syscall_msrs) {
    if (!canonical(s.lstar) || !canonical(s.cstar) || !canonical(s.kernel_gs_base))
      return "LSTAR/CSTAR/KERNEL_GS_BASE not canonical";
    if ((s.sfmask >> 32) || (s.sysenter_cs >> 32)) return "SFMASK/SYSENTER_CS reserved bits set";
    g.sysenter_cs = static_cast<uint32_t>(s.sysenter_cs);
    g.sysenter_esp = s.sysenter_esp;
    g.sysenter_eip = s.sysenter_eip;
  }
  if (mask & vm::Load::interruptibility) {
    g.interruptibility &= ~kStiMovSs;
    if (s.interrupt_shadow)
      g.interruptibility |= (g.rflags & Rflags::if_) ? Interruptibility::blocking_by_sti
                                                     : Interruptibility::blocking_by_mov_ss;
  } else if (g.rip != rip_before) {
    // The VMM moved past an instruction: its interrupt shadow is over.
    g.interruptibility &= ~kStiMovSs;
  }
  if (!(g.rflags & Rflags::if_) && (g.interruptibility & Interruptibility::blocking_by_sti)) {
    // The VMM cleared IF under an STI shadow: keep the shadow the only way VMX can.
    g.interruptibility &= ~uint32_t(Interruptibility::blocking_by_sti);
    g.interruptibility |= Interruptibility::blocking_by_mov_ss;
  }
  return check_guest_state(g, l);
}

bool pdptes_valid(const uint64_t pdpte[4], unsigned phys_bits) {
  for (unsigned i = 0; i < 4; ++i) {
    uint64_t e = pdpte[i];
    if (!(e & 1)) continue;
    if (e & 0x1e6) return false;  // bits 2:1 and 8:5
    if (!phys_ok(e & ~0xfffull, phys_bits)) return false;
  }
  return true;
}

}  // namespace cos::vmx
