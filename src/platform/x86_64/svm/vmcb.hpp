// The AMD virtual machine control block (AMD APM Vol. 2, appendix B
// "Layout of VMCB"): a 4 KiB page with the control area at 0x000 and the
// guest state save area at 0x400. Offsets and bits are named after the manual.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "cos/vm.hpp"
#include "x86_64/svm/arch.hpp"

namespace cos::svm {

/// The VMCB: control area (APM table B-1) and state save area (table B-2).
/// The save area from es to g_pat is what VMRUN loads and #VMEXIT stores.
struct Vmcb {
  // --- control area -----------------------------------------------------
  uint32_t intercept_cr;        // 0x000: bits 0-15 reads, 16-31 writes (cr_read/cr_write)
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

/// Offset and size of the state save area inside the VMCB.
inline constexpr size_t kSaveAreaOffset = offsetof(Vmcb, es);
inline constexpr size_t kSaveAreaBytes = offsetof(Vmcb, g_pat) + sizeof(uint64_t) - kSaveAreaOffset;

}  // namespace cos::svm
