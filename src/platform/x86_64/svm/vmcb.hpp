// The AMD virtual machine control block (AMD APM Vol. 2, appendix B
// "Layout of VMCB"): a 4 KiB page with the control area at 0x000 and the
// guest state save area at 0x400. Offsets and bits are named after the manual.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/vm.hpp"

namespace cos::svm {

/// Intercept vector 3 (VMCB offset 0x00c), APM table B-1.
namespace Intercept3 {
inline constexpr uint32_t intr = 1u << 0, nmi = 1u << 1, smi = 1u << 2, init = 1u << 3, vintr = 1u << 4,
                          rdtsc = 1u << 14, cpuid = 1u << 18, invd = 1u << 22, pause = 1u << 23,
                          hlt = 1u << 24, invlpga = 1u << 26, ioio_prot = 1u << 27, msr_prot = 1u << 28,
                          task_switch = 1u << 29, shutdown = 1u << 31;
}
/// Intercept vector 4 (VMCB offset 0x010).
namespace Intercept4 {
inline constexpr uint32_t vmrun = 1u << 0, vmmcall = 1u << 1, vmload = 1u << 2, vmsave = 1u << 3,
                          stgi = 1u << 4, clgi = 1u << 5, skinit = 1u << 6, rdtscp = 1u << 7,
                          wbinvd = 1u << 9, monitor = 1u << 10, mwait = 1u << 11, xsetbv = 1u << 13;
}

/// #VMEXIT codes (APM table C-1).
enum class ExitCode : uint64_t {
  cr0_read = 0x00, cr0_write = 0x10,
  excp_base = 0x40,
  intr = 0x60, nmi = 0x61, smi = 0x62, init = 0x63, vintr = 0x64,
  rdtsc = 0x6e, cpuid = 0x72, invd = 0x76, pause = 0x77, hlt = 0x78, ioio = 0x7b, msr = 0x7c,
  shutdown = 0x7f, vmrun = 0x80, vmmcall = 0x81, vmload = 0x82, vmsave = 0x83, stgi = 0x84,
  clgi = 0x85, skinit = 0x86, rdtscp = 0x87, wbinvd = 0x89, monitor = 0x8a, mwait = 0x8b,
  xsetbv = 0x8d, npf = 0x400, invalid = ~0ull,
};

/// EVENTINJ / EXITINTINFO format (APM 15.20): vector, type, EV, V, error code.
namespace Event {
inline constexpr uint64_t valid = 1ull << 31, error_valid = 1ull << 11;
inline constexpr uint64_t type_shift = 8;
}

/// IOIO intercept EXITINFO1 (APM 15.10.2).
namespace Ioio {
inline constexpr uint64_t in = 1u << 0, str = 1u << 2, rep = 1u << 3, sz8 = 1u << 4, sz16 = 1u << 5,
                          sz32 = 1u << 6;
inline constexpr unsigned port_shift = 16;
}

/// Nested page fault EXITINFO1 error code bits (APM 15.25.6).
namespace NpfError {
inline constexpr uint64_t present = 1, write = 2, user = 4, reserved = 8, fetch = 16;
}

struct Vmcb {
  // --- control area -----------------------------------------------------
  uint32_t intercept_cr;        // 0x000: bits 0-15 reads, 16-31 writes
  uint32_t intercept_dr;        // 0x004
  uint32_t intercept_exceptions;// 0x008
  uint32_t intercept3;          // 0x00c
  uint32_t intercept4;          // 0x010
  uint8_t reserved0[0x03c - 0x014];
  uint16_t pause_filter_threshold;  // 0x03c
  uint16_t pause_filter_count;      // 0x03e
  uint64_t iopm_base_pa;        // 0x040
  uint64_t msrpm_base_pa;       // 0x048
  uint64_t tsc_offset;          // 0x050
  uint32_t guest_asid;          // 0x058
  uint8_t tlb_control;          // 0x05c: 0 none, 1 flush all, 3 this ASID, 7 non-global
  uint8_t reserved1[3];
  uint64_t vintr;               // 0x060: V_TPR, V_IRQ (8), V_INTR_PRIO (16-19), V_IGN_TPR (20), V_INTR_MASKING (24), vector (32-39)
  uint64_t interrupt_shadow;    // 0x068: bit 0 shadow, bit 1 guest interrupt mask
  uint64_t exitcode;            // 0x070
  uint64_t exitinfo1;           // 0x078
  uint64_t exitinfo2;           // 0x080
  uint64_t exitintinfo;         // 0x088
  uint64_t np_enable;           // 0x090: bit 0
  uint64_t avic_apic_bar;       // 0x098
  uint64_t ghcb_pa;             // 0x0a0
  uint64_t eventinj;            // 0x0a8
  uint64_t n_cr3;               // 0x0b0
  uint64_t lbr_virtualization;  // 0x0b8
  uint64_t clean_bits;          // 0x0c0
  uint64_t next_rip;            // 0x0c8
  uint8_t bytes_fetched;        // 0x0d0
  uint8_t guest_bytes[15];      // 0x0d1
  uint8_t reserved2[0x400 - 0x0e0];
  // --- state save area --------------------------------------------------
  vm::Segment es, cs, ss, ds, fs, gs;  // 0x400..0x45f
  vm::Segment gdtr, ldtr, idtr, tr;    // 0x460..0x49f (gdtr/idtr use limit and base only)
  uint8_t reserved3[0x4cb - 0x4a0];
  uint8_t cpl;                  // 0x4cb
  uint32_t reserved4;
  uint64_t efer;                // 0x4d0
  uint8_t reserved5[0x548 - 0x4d8];
  uint64_t cr4;                 // 0x548
  uint64_t cr3;                 // 0x550
  uint64_t cr0;                 // 0x558
  uint64_t dr7;                 // 0x560
  uint64_t dr6;                 // 0x568
  uint64_t rflags;              // 0x570
  uint64_t rip;                 // 0x578
  uint8_t reserved6[0x5d8 - 0x580];
  uint64_t rsp;                 // 0x5d8
  uint8_t reserved7[0x5f8 - 0x5e0];
  uint64_t rax;                 // 0x5f8
  uint64_t star;                // 0x600
  uint64_t lstar;               // 0x608
  uint64_t cstar;               // 0x610
  uint64_t sfmask;              // 0x618
  uint64_t kernel_gs_base;      // 0x620
  uint64_t sysenter_cs;         // 0x628
  uint64_t sysenter_esp;        // 0x630
  uint64_t sysenter_eip;        // 0x638
  uint64_t cr2;                 // 0x640
  uint8_t reserved8[0x668 - 0x648];
  uint64_t g_pat;               // 0x668
  uint8_t reserved9[0x1000 - 0x670];
};
static_assert(offsetof(Vmcb, iopm_base_pa) == 0x040);
static_assert(offsetof(Vmcb, guest_asid) == 0x058);
static_assert(offsetof(Vmcb, vintr) == 0x060);
static_assert(offsetof(Vmcb, exitcode) == 0x070);
static_assert(offsetof(Vmcb, eventinj) == 0x0a8);
static_assert(offsetof(Vmcb, n_cr3) == 0x0b0);
static_assert(offsetof(Vmcb, next_rip) == 0x0c8);
static_assert(offsetof(Vmcb, es) == 0x400);
static_assert(offsetof(Vmcb, tr) == 0x490);
static_assert(offsetof(Vmcb, cpl) == 0x4cb);
static_assert(offsetof(Vmcb, efer) == 0x4d0);
static_assert(offsetof(Vmcb, cr4) == 0x548);
static_assert(offsetof(Vmcb, rflags) == 0x570);
static_assert(offsetof(Vmcb, rip) == 0x578);
static_assert(offsetof(Vmcb, rsp) == 0x5d8);
static_assert(offsetof(Vmcb, rax) == 0x5f8);
static_assert(offsetof(Vmcb, cr2) == 0x640);
static_assert(offsetof(Vmcb, g_pat) == 0x668);
static_assert(sizeof(Vmcb) == 4096);

}  // namespace cos::svm
