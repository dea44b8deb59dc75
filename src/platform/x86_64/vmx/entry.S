/* VMX guest entry and exit (Intel SDM Vol. 3C, 27 "VM Entries" and 28 "VM
   Exits"). The VMCS holds the guest's RSP, RIP and RFLAGS; the other general-
   purpose registers live in Vcpu::gpr (vm::Regs order: rax, rcx, rdx, rbx,
   rsp (unused), rbp, rsi, rdi, r8 .. r15).

   uint64_t vmx_enter_guest(uint64_t* gpr, uint64_t launched)
     Saves the callee-saved registers, points HOST_RSP at the current stack,
     loads the guest GPRs and executes VMLAUNCH (launched == 0) or VMRESUME.
     A VM exit continues at vmx_exit_stub (HOST_RIP) on that same stack,
     which stores the guest GPRs and returns 0 to the caller. If the
     instruction fails instead (VMfailInvalid: CF = 1, VMfailValid: ZF = 1),
     it falls through and returns 1 or 2; no guest ever ran. VM exits clear
     RFLAGS except bit 1, so interrupts stay disabled. */
#include "x86_64/asm_constants.h"


  .text
  .global vmx_enter_guest
  .type vmx_enter_guest, @function
vmx_enter_guest:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  push %rdi                 /* gpr: found at (%rsp) after the exit */

  mov $VMCS_HOST_RSP, %eax
  vmwrite %rsp, %rax
  jbe 2f                    /* CF or ZF: no current VMCS or a bad field */

  test %rsi, %rsi           /* flags survive the movs below */
  mov G_RAX(%rdi), %rax
  mov G_RCX(%rdi), %rcx
  mov G_RDX(%rdi), %rdx
  mov G_RBX(%rdi), %rbx
  mov G_RBP(%rdi), %rbp
  mov G_RSI(%rdi), %rsi
  mov G_R8(%rdi), %r8
  mov G_R9(%rdi), %r9
  mov G_R10(%rdi), %r10
  mov G_R11(%rdi), %r11
  mov G_R12(%rdi), %r12
  mov G_R13(%rdi), %r13
  mov G_R14(%rdi), %r14
  mov G_R15(%rdi), %r15
  mov G_RDI(%rdi), %rdi
  jnz 1f
  vmlaunch
  jmp 2f
1:
  vmresume
2:
  /* VM entry failed before loading guest state: CF = 1 VMfailInvalid,
     ZF = 1 VMfailValid. Guest values may be in the GPRs; only the
     callee-saved ones matter and they are restored below. */
  mov $1, %eax
  jc 3f
  mov $2, %eax
3:
  add $8, %rsp
  jmp 4f

  .global vmx_exit_stub
  .type vmx_exit_stub, @function
vmx_exit_stub:
  push %rdi                 /* guest rdi */
  mov 8(%rsp), %rdi         /* gpr */
  mov %rax, G_RAX(%rdi)
  mov %rcx, G_RCX(%rdi)
  mov %rdx, G_RDX(%rdi)
  mov %rbx, G_RBX(%rdi)
  mov %rbp, G_RBP(%rdi)
  mov %rsi, G_RSI(%rdi)
  mov %r8, G_R8(%rdi)
  mov %r9, G_R9(%rdi)
  mov %r10, G_R10(%rdi)
  mov %r11, G_R11(%rdi)
  mov %r12, G_R12(%rdi)
  mov %r13, G_R13(%rdi)
  mov %r14, G_R14(%rdi)
  mov %r15, G_R15(%rdi)
  popq G_RDI(%rdi)
  add $8, %rsp              /* gpr */
  xor %eax, %eax
4:
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbx
  pop %rbp
  ret

  .section .note.GNU-stack, "", @progbits
