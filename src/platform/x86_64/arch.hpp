// Architectural x86-64 facts shared by the kernel's platform code and both
// virtualization backends: control-register, EFER and RFLAGS bits, MSR
// numbers, exception vectors and which of them push an error code, segment
// attribute bits. Pure constants: host-compilable.
#pragma once
#include <stdint.h>

namespace cos::x86 {

/// CR0 (Intel SDM Vol. 3A, 2.5 "Control Registers"; AMD APM Vol. 2, 3.1.1).
namespace Cr0 {
inline constexpr uint64_t pe = 1ull << 0, mp = 1ull << 1, em = 1ull << 2, ts = 1ull << 3, et = 1ull << 4,
                          ne = 1ull << 5, wp = 1ull << 16, am = 1ull << 18, nw = 1ull << 29,
                          cd = 1ull << 30, pg = 1ull << 31;
}  // namespace Cr0

/// CR4 (Intel SDM Vol. 3A, 2.5; AMD APM Vol. 2, 3.1.3).
namespace Cr4 {
inline constexpr uint64_t vme = 1ull << 0, pvi = 1ull << 1, tsd = 1ull << 2, de = 1ull << 3, pse = 1ull << 4,
                          pae = 1ull << 5, mce = 1ull << 6, pge = 1ull << 7, pce = 1ull << 8,
                          osfxsr = 1ull << 9, osxmmexcpt = 1ull << 10, umip = 1ull << 11,
                          la57 = 1ull << 12, vmxe = 1ull << 13, smxe = 1ull << 14,
                          fsgsbase = 1ull << 16, pcide = 1ull << 17, osxsave = 1ull << 18,
                          smep = 1ull << 20, smap = 1ull << 21, pke = 1ull << 22, cet = 1ull << 23;
}  // namespace Cr4

/// IA32_EFER (Intel SDM Vol. 3A, 2.2.1; AMD APM Vol. 2, 3.1.7).
namespace Efer {
inline constexpr uint64_t sce = 1ull << 0, lme = 1ull << 8, lma = 1ull << 10, nxe = 1ull << 11,
                          svme = 1ull << 12, lmsle = 1ull << 13, ffxsr = 1ull << 14, tce = 1ull << 15;
}  // namespace Efer

/// RFLAGS (Intel SDM Vol. 1, 3.4.3).
namespace Rflags {
inline constexpr uint64_t cf = 1ull << 0, fixed1 = 1ull << 1, tf = 1ull << 8, if_ = 1ull << 9,
                          df = 1ull << 10, iopl = 3ull << 12, rf = 1ull << 16, vm = 1ull << 17,
                          ac = 1ull << 18;
/// Bits that must be 0 (3, 5, 15, 22-63).
inline constexpr uint64_t kReserved = ~0x3f7fd7ull;
}  // namespace Rflags

/// Architectural MSRs (Intel SDM Vol. 4, table 2-2; AMD APM Vol. 2, appendix A).
namespace Msr {
inline constexpr uint32_t apic_base = 0x1b;
inline constexpr uint32_t sysenter_cs = 0x174, sysenter_esp = 0x175, sysenter_eip = 0x176;
inline constexpr uint32_t pat = 0x277;
inline constexpr uint32_t efer = 0xc0000080, star = 0xc0000081, lstar = 0xc0000082, cstar = 0xc0000083,
                          fmask = 0xc0000084;
inline constexpr uint32_t fs_base = 0xc0000100, gs_base = 0xc0000101, kernel_gs_base = 0xc0000102,
                          tsc_aux = 0xc0000103;
}  // namespace Msr

/// Exception vectors (Intel SDM Vol. 3A, table 6-1).
namespace Vector {
inline constexpr unsigned de = 0, db = 1, nmi = 2, bp = 3, of = 4, br = 5, ud = 6, nm = 7, df = 8, ts = 10,
                          np = 11, ss = 12, gp = 13, pf = 14, mf = 16, ac = 17, mc = 18, xm = 19, ve = 20,
                          cp = 21;
}  // namespace Vector

/// True for the exceptions that push an error code: #DF, #TS, #NP, #SS,
/// #GP, #PF, #AC and #CP (Intel SDM Vol. 3A, table 6-1).
constexpr bool exception_has_error_code(unsigned vector) {
  return vector == Vector::df || (vector >= Vector::ts && vector <= Vector::pf) || vector == Vector::ac ||
         vector == Vector::cp;
}

/// Segment attributes in the packed format of vm::Segment (the AMD VMCB
/// format, AMD APM Vol. 2, 15.5.1): bits 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL,
/// 9 L, 10 D/B, 11 G.
namespace SegAttr {
inline constexpr uint16_t s = 1u << 4, p = 1u << 7, l = 1u << 9, db = 1u << 10, g = 1u << 11;
constexpr unsigned dpl(uint16_t attr) { return (attr >> 5) & 3; }
}  // namespace SegAttr

}  // namespace cos::x86
