#include "x86_64/svm/guest_state.hpp"

namespace cos::svm {

const char* check_guest_state(const CrState& s, const GuestLimits& l) {
  const uint64_t efer = s.efer | Efer::svme;
  if (s.cr0 >> 32) return "CR0[63:32] set";
  if ((s.cr0 & Cr0::nw) && !(s.cr0 & Cr0::cd)) return "CR0.NW without CR0.CD";
  if (s.cr3 >> 52 || (l.phys_bits < 64 && (s.cr3 >> l.phys_bits))) return "CR3 has bits beyond the physical-address width";
  if (s.cr4 & ~l.cr4_valid) return "CR4 has reserved bits set";
  if (s.dr7 >> 32) return "DR7[63:32] set";
  if (efer & ~kEferValid) return "EFER has reserved bits set";
  if ((efer & Efer::lme) && (s.cr0 & Cr0::pg)) {
    if (!(s.cr4 & Cr4::pae)) return "long mode with paging but CR4.PAE clear";
    if (!(s.cr0 & Cr0::pe)) return "long mode with paging but CR0.PE clear";
    if ((s.cs_attr & SegAttr::l) && (s.cs_attr & SegAttr::db)) return "CS.L and CS.D both set in long mode";
  }
  return nullptr;
}

namespace {
/// Canonical for 48-bit linear addresses (bits 63:47 equal).
constexpr bool canonical(uint64_t v) { return ((v >> 47) == 0) || ((v >> 47) == 0x1ffff); }
}  // namespace

const char* check_segment_bases(const vm::StatePage& s, uint64_t mask) {
  if (mask & vm::Load::segments) {
    if ((s.cs.base | s.ss.base | s.ds.base | s.es.base) >> 32) return "CS/SS/DS/ES base bits 63:32 set";
    if (!canonical(s.fs.base) || !canonical(s.gs.base)) return "FS/GS base not canonical";
    if (!canonical(s.tr.base) || !canonical(s.ldtr.base)) return "TR/LDTR base not canonical";
  }
  if ((mask & vm::Load::dtables) && (!canonical(s.gdtr.base) || !canonical(s.idtr.base)))
    return "GDTR/IDTR base not canonical";
  return nullptr;
}

void reset_guest_state(Vmcb& c) {
  auto seg = [](vm::Segment& s, uint16_t sel, uint64_t base, uint16_t attr) { s = vm::Segment{sel, attr, 0xffff, base}; };
  seg(c.cs, 0xf000, 0xffff0000, 0x9b);
  seg(c.ds, 0, 0, 0x93);
  seg(c.es, 0, 0, 0x93);
  seg(c.ss, 0, 0, 0x93);
  seg(c.fs, 0, 0, 0x93);
  seg(c.gs, 0, 0, 0x93);
  seg(c.ldtr, 0, 0, 0x82);
  seg(c.tr, 0, 0, 0x8b);
  c.gdtr = vm::Segment{0, 0, 0xffff, 0};
  c.idtr = vm::Segment{0, 0, 0xffff, 0};
  c.rip = 0xfff0;
  c.rflags = Rflags::fixed1;
  c.cr0 = Cr0::et;
  c.efer = Efer::svme;
  c.dr6 = 0xffff0ff0;
  c.dr7 = 0x400;
  c.g_pat = 0x0007040600070406ull;  // the power-on PAT (Intel SDM Vol. 3A, 12.12.4)
  c.cpl = 0;
}

}  // namespace cos::svm
