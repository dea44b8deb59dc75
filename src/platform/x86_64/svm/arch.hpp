// SVM architectural constants: MSRs, CPUID feature bits, intercept vectors,
// #VMEXIT codes, the event-injection format and the exit-information
// formats (AMD64 Architecture Programmer's Manual Vol. 2, chapter 15 "Secure
// Virtual Machine" and appendices B "Layout of VMCB" and C "SVM Intercept
// Exit Codes"). Pure constants: host-compilable.
#pragma once
#include <stdint.h>

#include "x86_64/arch.hpp"

namespace cos::svm {

// --- Architectural register bits (shared with VMX: x86_64/arch.hpp) ---------
namespace Cr0 = x86::Cr0;
namespace Cr4 = x86::Cr4;
namespace Efer = x86::Efer;
namespace Rflags = x86::Rflags;

// --- SVM MSRs (APM Vol. 2, 15.30 "SVM-Related MSRs") --------------------------
namespace Msr {
inline constexpr uint32_t vm_cr = 0xc0010114;       ///< VM_CR
inline constexpr uint32_t vm_hsave_pa = 0xc0010117; ///< host save area
}  // namespace Msr

/// VM_CR bits (APM 15.30.1).
namespace VmCr {
inline constexpr uint64_t lock = 1ull << 3, svmdis = 1ull << 4;
}  // namespace VmCr

// --- CPUID (APM Vol. 3, appendix E.4.1 and E.4.10) ---------------------------------
/// CPUID 8000_0001h ECX bit 2: SVM.
inline constexpr uint32_t kCpuidSvm = 1u << 2;
/// CPUID 8000_000Ah EDX: SVM features.
namespace Feature {
inline constexpr uint32_t np = 1u << 0, lbr_virt = 1u << 1, svm_lock = 1u << 2, nrip_save = 1u << 3,
                          tsc_rate = 1u << 4, vmcb_clean = 1u << 5, flush_by_asid = 1u << 6,
                          decode_assists = 1u << 7;
}  // namespace Feature

// --- Intercept vectors (APM appendix B, table B-1) ---------------------------------
/// Intercept vector 3 (VMCB offset 0x00c).
namespace Intercept3 {
inline constexpr uint32_t intr = 1u << 0, nmi = 1u << 1, smi = 1u << 2, init = 1u << 3, vintr = 1u << 4,
                          cr0_sel_write = 1u << 5, idtr_read = 1u << 6, gdtr_read = 1u << 7,
                          ldtr_read = 1u << 8, tr_read = 1u << 9, idtr_write = 1u << 10,
                          gdtr_write = 1u << 11, ldtr_write = 1u << 12, tr_write = 1u << 13,
                          rdtsc = 1u << 14, rdpmc = 1u << 15, pushf = 1u << 16, popf = 1u << 17,
                          cpuid = 1u << 18, rsm = 1u << 19, iret = 1u << 20, intn = 1u << 21,
                          invd = 1u << 22, pause = 1u << 23, hlt = 1u << 24, invlpg = 1u << 25,
                          invlpga = 1u << 26, ioio_prot = 1u << 27, msr_prot = 1u << 28,
                          task_switch = 1u << 29, ferr_freeze = 1u << 30, shutdown = 1u << 31;
}  // namespace Intercept3
/// Intercept vector 4 (VMCB offset 0x010).
namespace Intercept4 {
inline constexpr uint32_t vmrun = 1u << 0, vmmcall = 1u << 1, vmload = 1u << 2, vmsave = 1u << 3,
                          stgi = 1u << 4, clgi = 1u << 5, skinit = 1u << 6, rdtscp = 1u << 7,
                          icebp = 1u << 8, wbinvd = 1u << 9, monitor = 1u << 10, mwait = 1u << 11,
                          mwait_armed = 1u << 12, xsetbv = 1u << 13, rdpru = 1u << 14,
                          efer_write_trap = 1u << 15;
}  // namespace Intercept4
/// CR intercepts (VMCB offset 0x000): bit n reads of CRn, bit 16 + n writes.
constexpr uint32_t cr_read(unsigned n) { return 1u << n; }
constexpr uint32_t cr_write(unsigned n) { return 1u << (16 + n); }
/// DR intercepts (VMCB offset 0x004): bit n reads of DRn, bit 16 + n writes.
inline constexpr uint32_t kAllDrAccesses = 0xffffffffu;

// --- #VMEXIT codes (APM appendix C, table C-1) ------------------------------------
enum class ExitCode : uint64_t {
  cr0_read = 0x00, cr0_write = 0x10,
  dr0_read = 0x20, dr0_write = 0x30,
  excp_base = 0x40,
  intr = 0x60, nmi = 0x61, smi = 0x62, init = 0x63, vintr = 0x64,
  rdtsc = 0x6e, rdpmc = 0x6f, cpuid = 0x72, invd = 0x76, pause = 0x77, hlt = 0x78, invlpga = 0x7a,
  ioio = 0x7b, msr = 0x7c, task_switch = 0x7d, shutdown = 0x7f,
  vmrun = 0x80, vmmcall = 0x81, vmload = 0x82, vmsave = 0x83, stgi = 0x84, clgi = 0x85, skinit = 0x86,
  rdtscp = 0x87, icebp = 0x88, wbinvd = 0x89, monitor = 0x8a, mwait = 0x8b, mwait_armed = 0x8c,
  xsetbv = 0x8d, rdpru = 0x8e,
  npf = 0x400, invalid = ~0ull,
};
/// Exception intercepts exit with excp_base + vector.
constexpr bool is_exception_exit(uint64_t code) { return code >= 0x40 && code < 0x60; }
/// CR access exits: 0x00-0x0f reads, 0x10-0x1f writes.
constexpr bool is_cr_exit(uint64_t code) { return code < 0x20; }
/// VMEXIT_INVALID is -1; some implementations (QEMU 7.2) store it as a
/// 32-bit value.
constexpr bool is_invalid_exit(uint64_t exitcode) { return exitcode == ~0ull || exitcode == 0xffffffffull; }

// --- Event injection and exit interrupt information (APM 15.20) -------------------
/// EVENTINJ / EXITINTINFO: vector (7:0), type (10:8), EV (11), V (31),
/// error code (63:32).
namespace Event {
inline constexpr uint64_t valid = 1ull << 31, error_valid = 1ull << 11;
inline constexpr unsigned type_shift = 8;
inline constexpr uint64_t vector_mask = 0xff, type_mask = 7ull << type_shift;
}  // namespace Event
/// EVENTINJ types (APM 15.20).
enum class EventType : uint64_t { intr = 0, nmi = 2, exception = 3, software_int = 4 };

// --- Virtual interrupts (APM 15.21.4, VMCB offset 0x060) ---------------------------
namespace Vintr {
inline constexpr uint64_t v_irq = 1ull << 8;
inline constexpr unsigned v_intr_prio_shift = 16;
inline constexpr uint64_t v_ign_tpr = 1ull << 20;
inline constexpr uint64_t v_intr_masking = 1ull << 24;
}  // namespace Vintr

/// Interrupt shadow (VMCB offset 0x068, APM 15.21.5).
namespace Shadow {
inline constexpr uint64_t interrupt_shadow = 1ull << 0;
}  // namespace Shadow

/// TLB_CONTROL values (APM 15.16.1).
namespace TlbControl {
inline constexpr uint8_t nothing = 0, flush_all = 1, flush_asid = 3, flush_asid_non_global = 7;
}  // namespace TlbControl

// --- Exit information ----------------------------------------------------------------
/// IOIO intercept EXITINFO1 (APM 15.10.2).
namespace Ioio {
inline constexpr uint64_t in = 1u << 0, str = 1u << 2, rep = 1u << 3, sz8 = 1u << 4, sz16 = 1u << 5,
                          sz32 = 1u << 6;
inline constexpr unsigned port_shift = 16;
}  // namespace Ioio

/// Nested page fault EXITINFO1 error code bits (APM 15.25.6).
namespace NpfError {
inline constexpr uint64_t present = 1, write = 2, user = 4, reserved = 8, fetch = 16;
}  // namespace NpfError

/// Segment attributes in the VMCB (and vm::Segment) packed format.
namespace SegAttr = x86::SegAttr;

}  // namespace cos::svm
