/* svm_run(vmcb_pa, gpr, host_save_pa): enter the guest once.
   gpr points at the 16 guest general-purpose registers in vm::Regs order
   (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15); rax and rsp live in the
   VMCB and are skipped here. VMRUN saves and restores the host's RSP, RIP,
   RFLAGS, RAX, CR0/3/4, EFER and GDTR/IDTR; FS/GS/TR/LDTR and the syscall
   MSRs are switched with VMLOAD/VMSAVE (AMD APM Vol. 2, 15.5 and 15.5.2):
   the host's were saved once at boot into host_save_pa (they never change
   in the kernel), the guest's are saved after every exit.
   Runs with GIF = 0 around the switch; RFLAGS.IF = 1 during VMRUN so
   physical interrupts cause #VMEXIT (V_INTR_MASKING = 1, INTR intercepted),
   and they stay pending until the caller takes them. */
#include "x86_64/asm_constants.h"

  .text
  .global svm_run
svm_run:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  push %rdx                   /* host save area pa */
  push %rsi                   /* gpr pointer */
  push %rdi                   /* vmcb pa */

  clgi
  mov %rdi, %rax
  vmload                      /* the guest's FS/GS/TR/LDTR, KernelGsBase, STAR... */
  sti

  mov G_RCX(%rsi), %rcx
  mov G_RDX(%rsi), %rdx
  mov G_RBX(%rsi), %rbx
  mov G_RBP(%rsi), %rbp
  mov G_RDI(%rsi), %rdi
  mov G_R8(%rsi), %r8
  mov G_R9(%rsi), %r9
  mov G_R10(%rsi), %r10
  mov G_R11(%rsi), %r11
  mov G_R12(%rsi), %r12
  mov G_R13(%rsi), %r13
  mov G_R14(%rsi), %r14
  mov G_R15(%rsi), %r15
  mov G_RSI(%rsi), %rsi
  vmrun                       /* rax = vmcb pa */

  /* #VMEXIT: host rsp/rax/rip restored, GIF = 0, guest GPRs live. */
  push %rsi
  mov 16(%rsp), %rsi          /* gpr pointer (above the saved vmcb pa) */
  mov %rcx, G_RCX(%rsi)
  mov %rdx, G_RDX(%rsi)
  mov %rbx, G_RBX(%rsi)
  mov %rbp, G_RBP(%rsi)
  mov %rdi, G_RDI(%rsi)
  mov %r8, G_R8(%rsi)
  mov %r9, G_R9(%rsi)
  mov %r10, G_R10(%rsi)
  mov %r11, G_R11(%rsi)
  mov %r12, G_R12(%rsi)
  mov %r13, G_R13(%rsi)
  mov %r14, G_R14(%rsi)
  mov %r15, G_R15(%rsi)
  popq G_RSI(%rsi)

  cli
  mov (%rsp), %rax            /* vmcb pa */
  vmsave                      /* the guest's hidden segment state and MSRs */
  mov 16(%rsp), %rax          /* host save area pa */
  vmload
  stgi                        /* GIF = 1, IF = 0: a pending host interrupt waits */

  add $24, %rsp
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret
  .section .note.GNU-stack, "", @progbits
