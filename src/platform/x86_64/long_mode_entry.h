/* The step from 32-bit protected mode to long mode that the boot processor
   (boot.S) and every application processor (ap_boot.S) take, once CR3
   holds the boot page tables (Intel SDM Vol. 3A, 10.8.5 "Initializing
   IA-32e Mode"): CR4 PAE, PGE, OSFXSR, OSXMMEXCPT; EFER LME, SCE, NXE;
   CR0 PG, PE, WP, MP with EM and TS clear (SSE usable in ring 3). The far
   jump to 64-bit code that completes the switch is the caller's.
   Clobbers EAX, ECX, EDX. For assembly files only. */
#ifndef COS_X86_64_LONG_MODE_ENTRY_H
#define COS_X86_64_LONG_MODE_ENTRY_H

.macro ENABLE_LONG_MODE_PAGING
  mov %cr4, %eax
  or $((1 << 5) | (1 << 7) | (1 << 9) | (1 << 10)), %eax
  mov %eax, %cr4
  mov $0xc0000080, %ecx
  rdmsr
  or $((1 << 8) | (1 << 0) | (1 << 11)), %eax
  wrmsr
  mov %cr0, %eax
  and $~((1 << 2) | (1 << 3)), %eax
  or $((1 << 31) | (1 << 0) | (1 << 16) | (1 << 1)), %eax
  mov %eax, %cr0
.endm

#endif
