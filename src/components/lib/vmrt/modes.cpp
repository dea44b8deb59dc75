// vmrt initial vCPU modes (host-compilable).
#include "vmrt/modes.hpp"

#include <initializer_list>

namespace vmrt {
namespace {

/// A GDT code/data descriptor from base, limit (bytes-1 or pages-1 with G)
/// and the packed 12-bit attribute.
uint64_t descriptor(uint32_t base, uint32_t limit, uint16_t a) {
  uint64_t d = limit & 0xffffull;
  d |= static_cast<uint64_t>(base & 0xffffff) << 16;
  d |= static_cast<uint64_t>(a & 0xff) << 40;             // type, S, DPL, P
  d |= static_cast<uint64_t>((limit >> 16) & 0xf) << 48;
  d |= static_cast<uint64_t>((a >> 8) & 0xf) << 52;       // AVL, L, D/B, G
  d |= static_cast<uint64_t>((base >> 24) & 0xff) << 56;
  return d;
}

vm::Segment seg(uint16_t sel, uint64_t base, uint32_t limit, uint16_t a) { return vm::Segment{sel, a, limit, base}; }

/// Registers and every group but segments/CRs: the common part of all modes.
void common_state(VcpuState& v, uint64_t rip, uint64_t rsp) {
  vm::Regs& r = v.regs_mut();
  r = vm::Regs{};
  r.rip = rip;
  r.rsp = rsp;
  r.rflags = 0x2;
  v.set(Cr::cr2, 0);
  v.set(Cr::dr7, 0x400);
  for (SyscallMsr m : {SyscallMsr::star, SyscallMsr::lstar, SyscallMsr::cstar, SyscallMsr::sfmask,
                       SyscallMsr::kernel_gs_base, SyscallMsr::sysenter_cs, SyscallMsr::sysenter_esp,
                       SyscallMsr::sysenter_eip})
    v.set(m, 0);
  v.set_exception_bitmap(0);
  v.set_intercept_flags(0);
  v.set_interrupt_shadow(false);
  v.mark_dirty(kLoadInitial);
}

void flat_segments(VcpuState& v, uint16_t code_sel, uint16_t code_attr, uint64_t gdt_gpa) {
  v.set_segment(Seg::cs, seg(code_sel, 0, 0xffffffff, code_attr));
  for (Seg s : {Seg::ds, Seg::es, Seg::fs, Seg::gs, Seg::ss}) v.set_segment(s, seg(gdt::kData, 0, 0xffffffff, attr::kData32));
  v.set_segment(Seg::tr, seg(gdt::kTss, gdt_gpa + gdt::kTssOffset, gdt::kTssLimit, attr::kTssBusy));
  v.set_segment(Seg::ldtr, seg(0, 0, 0xffff, attr::kLdt));
  v.set_gdtr(gdt_gpa, gdt::kLimit);
  v.set_idtr(0, 0);
}

}  // namespace

Status write_gdt(GuestMemory& mem, uint64_t gdt_gpa) {
  if (gdt_gpa & 0xfff) return make_error(Errc::bad_argument, "GDT address not page aligned", gdt_gpa);
  if (gdt_gpa + gdt::kTssOffset > 0xffffffffull)
    return make_error(Errc::bad_argument, "GDT address above 4 GiB", gdt_gpa);
  VMRT_TRY(mem.fill(gdt_gpa, 0, gdt::kAreaBytes));
  uint64_t tss = gdt_gpa + gdt::kTssOffset;
  uint64_t table[7] = {
      0,
      0,
      descriptor(0, 0xfffff, attr::kCode32),
      descriptor(0, 0xfffff, attr::kData32),
      descriptor(0, 0xfffff, attr::kCode64),
      descriptor(static_cast<uint32_t>(tss), gdt::kTssLimit, attr::kTssBusy),
      tss >> 32,  // upper half of the 16-byte system descriptor
  };
  VMRT_TRY(mem.write(gdt_gpa, table, sizeof(table)));
  // An I/O-permission-bitmap offset beyond the limit: no bitmap.
  uint16_t iomap = 0x68;
  return mem.write(tss + 0x66, &iomap, sizeof(iomap));
}

void setup_real_mode(VcpuState& v, const RealModeConfig& cfg) {
  common_state(v, cfg.ip, cfg.sp);
  v.set_segment(Seg::cs, seg(cfg.cs, static_cast<uint64_t>(cfg.cs) << 4, 0xffff, attr::kRealCode));
  v.set_segment(Seg::ss, seg(cfg.ss, static_cast<uint64_t>(cfg.ss) << 4, 0xffff, attr::kRealData));
  for (Seg s : {Seg::ds, Seg::es, Seg::fs, Seg::gs})
    v.set_segment(s, seg(cfg.ds, static_cast<uint64_t>(cfg.ds) << 4, 0xffff, attr::kRealData));
  v.set_segment(Seg::tr, seg(0, 0, 0xffff, attr::kTssBusy));
  v.set_segment(Seg::ldtr, seg(0, 0, 0xffff, attr::kLdt));
  v.set_gdtr(0, 0xffff);
  v.set_idtr(0, 0x3ff);
  v.set(Cr::cr0, kCr0Et | kCr0Ne);
  v.set(Cr::cr3, 0);
  v.set(Cr::cr4, 0);
  v.set(Cr::efer, 0);
}

Status setup_protected_mode(VcpuState& v, GuestMemory& mem, const ProtectedModeConfig& cfg) {
  if (cfg.cr3 & 0xfff && !cfg.pae) return make_error(Errc::bad_argument, "CR3 not page aligned", cfg.cr3);
  if (cfg.cr3 & 0x1f) return make_error(Errc::bad_argument, "PAE CR3 not 32-byte aligned", cfg.cr3);
  VMRT_TRY(write_gdt(mem, cfg.gdt_gpa));
  common_state(v, cfg.entry, cfg.stack);
  flat_segments(v, gdt::kCode32, attr::kCode32, cfg.gdt_gpa);
  uint64_t cr0 = kCr0Pe | kCr0Et | kCr0Ne, cr4 = 0;
  if (cfg.cr3) {
    cr0 |= kCr0Pg | kCr0Wp;
    cr4 = cfg.pae ? kCr4Pae : kCr4Pse;
  }
  v.set(Cr::cr0, cr0);
  v.set(Cr::cr3, cfg.cr3);
  v.set(Cr::cr4, cr4);
  v.set(Cr::efer, 0);
  return {};
}

Status setup_long_mode(VcpuState& v, GuestMemory& mem, const LongModeConfig& cfg) {
  if (cfg.cr3 == 0 || (cfg.cr3 & 0xfff)) return make_error(Errc::bad_argument, "long mode needs a page-aligned CR3", cfg.cr3);
  VMRT_TRY(write_gdt(mem, cfg.gdt_gpa));
  common_state(v, cfg.entry, cfg.stack);
  flat_segments(v, gdt::kCode64, attr::kCode64, cfg.gdt_gpa);
  v.set(Cr::cr0, kCr0Pe | kCr0Et | kCr0Ne | kCr0Wp | kCr0Pg);
  v.set(Cr::cr3, cfg.cr3);
  v.set(Cr::cr4, kCr4Pae);
  v.set(Cr::efer, kEferLme | kEferLma | (cfg.nxe ? kEferNxe : 0) | (cfg.syscall ? kEferSce : 0));
  return {};
}

}  // namespace vmrt
