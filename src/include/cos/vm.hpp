// The vCPU state page: how the kernel reports VM exits to a VMM and how the
// VMM hands guest state back. One page per vCPU, shared between the kernel and
// the VMM (see Op::vcpu_create / Op::vcpu_run in cos/abi.hpp). Vendor
// neutral: the same layout under Intel VMX and AMD SVM.
//
// On every exit the kernel writes `exit`, `regs` (all general-purpose
// registers, rip, rflags) and every group selected in `save_mask`. The VMM
// edits what it needs and calls vcpu_run with the groups it changed in the
// load mask; only those are validated and loaded.
#pragma once
#include <stdint.h>

namespace cos::vm {

/// Why the guest stopped.
enum class ExitReason : uint32_t {
  none = 0,
  io = 1,                ///< IN/OUT/INS/OUTS: exit.io
  gpa_fault = 2,         ///< access to an unmapped or protected guest-physical page: exit.gpa
  cpuid = 3,             ///< leaf in regs.rax, subleaf in regs.rcx
  msr_read = 4,          ///< RDMSR: index in exit.msr.index (= regs.rcx)
  msr_write = 5,         ///< WRMSR: index in exit.msr.index, value in regs.rdx:regs.rax
  hlt = 6,
  hypercall = 7,         ///< VMCALL / VMMCALL: arguments by the guest's convention in regs
  interrupt_window = 8,  ///< the guest can now take an interrupt (requested via `request`)
  exception = 9,         ///< an intercepted exception (exit.exception)
  cr_access = 10,        ///< an intercepted control-register access (exit.cr)
  xsetbv = 11,           ///< XSETBV: XCR in regs.rcx, value in regs.rdx:regs.rax
  invd = 12,
  wbinvd = 13,
  shutdown = 14,         ///< triple fault / shutdown: the guest cannot continue
  entry_failure = 15,    ///< the hardware refused to enter the guest (exit.entry)
  rdtsc = 16,            ///< RDTSC/RDTSCP (intercepted only on request)
  pause = 17,
  vendor = 255,          ///< anything else: see Exit::vendor_code
};

/// Kinds of events for vcpu_inject and StatePage::inject.
enum class EventType : uint32_t {
  external_interrupt = 0,
  nmi = 2,
  exception = 3,         ///< hardware exception (vector < 32), error code if the vector has one
  software_interrupt = 4,
};

/// A segment register in the packed attribute format of the AMD VMCB
/// (AMD APM Vol. 2, 15.5.1): attr bits 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL,
/// 9 L, 10 D/B, 11 G. Attribute 0 means unusable.
struct Segment {
  uint16_t selector;
  uint16_t attr;
  uint32_t limit;
  uint64_t base;
};

struct DescriptorTable {
  uint64_t base;
  uint32_t limit;
  uint32_t reserved;
};

/// General-purpose registers, rip and rflags: always saved on exit, loaded
/// with Load::regs.
struct Regs {
  uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rip, rflags;
};

/// Exit information (kernel -> VMM), valid after each exit.
struct Exit {
  ExitReason reason;
  uint32_t instruction_length;  ///< bytes of the exiting instruction (0 if not an instruction exit);
                                ///< computed by the kernel where the CPU does not report it
  uint64_t vendor_code;         ///< raw VMX exit reason or SVM EXITCODE
  uint64_t vendor_qualification;///< raw VMX exit qualification or SVM EXITINFO1
  union {
    struct {
      uint16_t port;
      uint8_t size;       ///< 1, 2 or 4 bytes
      uint8_t in;         ///< 1: IN/INS (the VMM puts the value in regs.rax), 0: OUT/OUTS
      uint8_t string;     ///< INS/OUTS
      uint8_t rep;        ///< REP prefix
      uint8_t reserved[2];
      uint32_t data;      ///< OUT: the value written (low `size` bytes of rax)
    } io;
    struct {
      uint64_t gpa;
      uint32_t access;    ///< kAccessRead/Write/Exec bits of the faulting access
      uint32_t present;   ///< 1 if a mapping exists but forbids the access
    } gpa;
    struct {
      uint32_t index;
    } msr;
    struct {
      uint32_t vector;
      uint32_t has_error_code;
      uint32_t error_code;
      uint32_t reserved;
      uint64_t cr2;       ///< #PF: the faulting address
    } exception;
    struct {
      uint32_t cr;        ///< control register number
      uint32_t write;     ///< 1: write to the CR
      uint32_t gpr;       ///< general-purpose register index (rax = 0 ... r15 = 15), if known
      uint32_t reserved;
    } cr;
    struct {
      uint64_t reason;    ///< vendor reason (VMX: VM-instruction error or exit reason; SVM: EXITCODE)
    } entry;
  };
  /// 1 when the exit interrupted the delivery of an event (an exception,
  /// interrupt or NMI on its way through the guest's IDT; VMX IDT-vectoring
  /// information, SVM EXITINTINFO): a gpa_fault then comes from the
  /// delivery's own accesses (IDT, GDT, TSS, stack, page tables), not from
  /// the instruction at rip. The kernel delivers the event again at the next
  /// entry — unless the VMM answers with an exception (Load::inject or
  /// vcpu_inject), which then happened during that delivery and combines with
  /// it as in the CPU: delivered instead of it, or #DF, or a shutdown exit
  /// (Intel SDM Vol. 3A 6.15).
  uint32_t during_delivery;
  uint32_t reserved;
};

inline constexpr uint32_t kAccessRead = 1, kAccessWrite = 2, kAccessExec = 4;

/// State groups for StatePage::save_mask and vcpu_run's load mask.
namespace Load {
inline constexpr uint64_t regs = 1 << 0;       ///< Regs (always saved on exit)
inline constexpr uint64_t cr = 1 << 1;         ///< cr0, cr2, cr3, cr4, efer, dr7
inline constexpr uint64_t segments = 1 << 2;   ///< es, cs, ss, ds, fs, gs, tr, ldtr
inline constexpr uint64_t dtables = 1 << 3;    ///< gdtr, idtr
inline constexpr uint64_t syscall_msrs = 1 << 4;  ///< star, lstar, cstar, sfmask, kernel_gs_base, sysenter_*
inline constexpr uint64_t inject = 1 << 5;     ///< (load only) inject the event in StatePage::inject
inline constexpr uint64_t intercepts = 1 << 6; ///< (load only) exception_bitmap, intercept flags
inline constexpr uint64_t interruptibility = 1 << 7;  ///< interrupt shadow
inline constexpr uint64_t all = 0xff;
}  // namespace Load

/// Optional intercepts a VMM may ask for (StatePage::intercept_flags).
namespace Intercept {
inline constexpr uint32_t rdtsc = 1 << 0;
inline constexpr uint32_t cr_writes = 1 << 1;   ///< writes to CR0/CR3/CR4 (else the guest owns them)
inline constexpr uint32_t pause = 1 << 2;
}  // namespace Intercept

/// Requests from the VMM (StatePage::request), honoured on the next entry.
namespace Request {
inline constexpr uint32_t interrupt_window = 1 << 0;  ///< exit once the guest can take an interrupt
}  // namespace Request

struct StatePage {
  uint64_t magic;          ///< kStateMagic, written by the kernel at vcpu_create
  uint32_t backend;        ///< 1 = Intel VMX, 2 = AMD SVM (for VMMs that must know)
  uint32_t vcpu_id;
  uint64_t exits;          ///< exits so far (all kinds, including kernel-handled)
  Exit exit;
  Regs regs;
  // Load::cr
  uint64_t cr0, cr2, cr3, cr4, efer, dr7;
  // Load::segments
  Segment es, cs, ss, ds, fs, gs, tr, ldtr;
  // Load::dtables
  DescriptorTable gdtr, idtr;
  // Load::syscall_msrs
  uint64_t star, lstar, cstar, sfmask, kernel_gs_base, sysenter_cs, sysenter_esp, sysenter_eip;
  // Load::inject
  struct {
    uint32_t vector;
    EventType type;
    uint32_t has_error_code;
    uint32_t error_code;
  } inject;
  // Load::intercepts
  uint32_t exception_bitmap;  ///< bit n: exit on exception vector n (#MC and #DB/#AC may be forced by the kernel)
  uint32_t intercept_flags;   ///< Intercept bits
  // Load::interruptibility
  uint32_t interrupt_shadow;  ///< 1: blocking by STI / MOV SS for one instruction
  uint32_t reserved0;
  // Always read by the kernel on vcpu_run.
  uint64_t save_mask;         ///< groups (besides regs) written on every exit
  uint32_t request;           ///< Request bits
  /// Written by the kernel: 1 when `exit` holds an exit the VMM has not yet
  /// answered with vcpu_run (a VMM woken by another notification on the same
  /// endpoint, e.g. an IRQ or its timer, sees 0).
  uint32_t exit_pending;
  /// Written by the kernel on every exit: 1 while an external interrupt
  /// queued with vcpu_inject (or Load::inject) waits for the guest to become
  /// interruptible (a VMM emulating HLT must not sleep then).
  uint32_t irq_pending;
  uint32_t reserved2;
};

inline constexpr uint64_t kStateMagic = 0x4554415453555043ull;  // "CPUSTATE"
inline constexpr uint32_t kBackendVmx = 1, kBackendSvm = 2;

static_assert(sizeof(StatePage) <= 4096);

}  // namespace cos::vm
