/* Numbers the kernel's assembly sources share with its C++ code: structure
   offsets, VMCS field encodings and register layouts. Preprocessor-only so
   .S files can include it; asm_constants.cpp checks every value against the
   C++ definitions with static_assert, so they cannot drift apart. */
#ifndef COS_X86_64_ASM_CONSTANTS_H
#define COS_X86_64_ASM_CONSTANTS_H

#include "cos/abi_asm.h"

/* x86::Regs::vector of an entry through `syscall` (x86_64/regs.hpp). */
#define SYSCALL_VECTOR 0x100
/* x86::PerCpu (x86_64/percpu.hpp). */
#define PERCPU_KSTACK 0
#define PERCPU_USER_RSP 8
#define PERCPU_REGS_TOP 16
#define PERCPU_SELF 24
/* RFLAGS of a thread entering user mode: IF and the fixed bit 1. */
#define USER_RFLAGS 0x202
/* GDT selectors (x86_64/regs.hpp). */
#define USER_CS 0x23
#define USER_SS 0x1b
/* cos::InvocationFrame (kernel/thread.hpp). */
#define INVFRAME_RIP 16
#define INVFRAME_RSP 24
#define INVFRAME_RFLAGS 32

/* VMCS field encoding of HOST_RSP (Intel SDM Vol. 3C, appendix B.4.4). */
#define VMCS_HOST_RSP 0x6c14

/* Guest general-purpose registers in vm::Regs order (Vcpu::gpr, cos/vm.hpp):
   byte offsets. */
#define G_RAX 0
#define G_RCX 8
#define G_RDX 16
#define G_RBX 24
#define G_RSP 32
#define G_RBP 40
#define G_RSI 48
#define G_RDI 56
#define G_R8 64
#define G_R9 72
#define G_R10 80
#define G_R11 88
#define G_R12 96
#define G_R13 104
#define G_R14 112
#define G_R15 120

#endif
