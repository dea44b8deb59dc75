/* Application-processor start-up code (Intel SDM Vol. 3A, 9.4 "Multiple-
   Processor (MP) Initialization", 9.8.5 "Initializing IA-32e Mode").
   A start-up IPI starts the AP in real mode at CS:IP = (vector << 8):0.
   These bytes are copied to physical kApTrampolinePhys (smp.cpp) and run
   there: real mode -> protected mode -> long mode with the boot page
   tables (boot.S: they identity-map the first GiB and map the kernel
   image), then a jump to ap_entry64 on the stack the boot processor chose.
   Addresses inside are absolute for kApTrampolinePhys; the parameters at
   ap_trampoline_params are filled in by the boot processor before each
   start-up IPI. The bytes live in .rodata: they never run where linked. */
#include "x86_64/long_mode_entry.h"

#define TRAMP 0x8000
#define OFF(label) (TRAMP + ((label) - ap_trampoline_start))

  .section .rodata.ap_trampoline, "a"
  .global ap_trampoline_start, ap_trampoline_end, ap_trampoline_params
  .code16
  .balign 16
ap_trampoline_start:
  cli
  cld
  xor %ax, %ax
  mov %ax, %ds
  lgdtl OFF(tr_gdtr)
  mov %cr0, %eax
  or $1, %eax                        /* PE */
  mov %eax, %cr0
  ljmpl $0x08, $OFF(tr_pm32)

  .code32
tr_pm32:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  mov OFF(tr_cr3), %eax
  mov %eax, %cr3
  ENABLE_LONG_MODE_PAGING
  ljmp $0x18, $OFF(tr_lm64)

  .code64
tr_lm64:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  xor %eax, %eax
  mov %ax, %fs
  mov %ax, %gs
  mov OFF(tr_stack), %rsp
  mov OFF(tr_cpu), %edi
  mov OFF(tr_entry), %rax
  xor %ebp, %ebp
  jmp *%rax

  .balign 8
tr_gdt:
  .quad 0
  .quad 0x00cf9a000000ffff           /* 0x08: 32-bit code */
  .quad 0x00cf92000000ffff           /* 0x10: data */
  .quad 0x00af9a000000ffff           /* 0x18: 64-bit code */
tr_gdtr:
  .short 4 * 8 - 1
  .long OFF(tr_gdt)
  .balign 8
ap_trampoline_params:                /* smp.cpp: ApTrampolineParams */
tr_cr3:   .quad 0                    /* boot page tables (physical, below 4 GiB) */
tr_stack: .quad 0                    /* the AP's kernel stack top */
tr_entry: .quad 0                    /* ap_entry64 */
tr_cpu:   .quad 0                    /* the AP's CPU index */
ap_trampoline_end:
