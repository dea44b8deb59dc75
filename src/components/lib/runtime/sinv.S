/* Synchronous invocation, client and server halves.
   Client: cos_sinv_call(slot, op, a0, a1, a2) -> (rax, rdx). The kernel
   returns with only rax/rdx meaningful and the FPU/SSE state reset, so the
   callee-saved registers (and MXCSR and the x87 control word) are kept on
   the client's own stack, which the server cannot reach.
   Server: the kernel enters __cos_sinv_entry with rdi = token (interface),
   rsi = op, rdx = a0, r10 = a1, r8 = a2 and no stack; the stub claims one of
   COS_SINV_STACKS stacks with an atomic bit-test-and-set (threads from many
   clients may be inside at once), calls cos_sinv_dispatch, and returns with
   sret. */
#include "cos/abi_asm.h"
#include "runtime/sinv_stacks.h"

  .text
  .global cos_sinv_call
cos_sinv_call:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  sub $8, %rsp
  stmxcsr (%rsp)              /* MXCSR and the x87 control word are callee-saved */
  fnstcw 4(%rsp)              /* (SysV ABI); the kernel resets all FPU/SSE state */
  mov %rcx, %r10              /* a1: rcx is clobbered by syscall */
  mov $COS_OP_SINV, %eax
  syscall
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  add $8, %rsp
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret

  .global __cos_sinv_entry
__cos_sinv_entry:
  lea cos_sinv_stack_bitmap(%rip), %r11
  xor %eax, %eax
1:
  lock btsq %rax, (%r11)
  jnc 2f
  inc %eax
  cmp $COS_SINV_STACKS, %eax
  jb 1b
  mov $COS_SINV_ERR_NO_STACK, %rdi     /* every stack busy: fail the invocation */
  xor %esi, %esi
  mov $COS_OP_SRET, %eax
  syscall
  ud2
2:
  mov %rax, %r9               /* stack index, kept across the call on the new stack */
  lea 1(%rax), %r11
  imul $COS_SINV_STACK_BYTES, %r11
  lea cos_sinv_stacks(%rip), %rsp
  add %r11, %rsp
  push %r9
  push %r9                    /* keep 16-byte alignment */
  mov %r10, %rcx
  call cos_sinv_dispatch      /* returns (rax, rdx) */
  pop %r9
  pop %r9
  lea cos_sinv_stack_bitmap(%rip), %r11
  lock btrq %r9, (%r11)       /* after this the stack is not touched again */
  mov %rax, %rdi
  mov %rdx, %rsi
  mov $COS_OP_SRET, %eax
  syscall
  ud2

  .bss
  .align 16
cos_sinv_stacks:
  .skip COS_SINV_STACKS * COS_SINV_STACK_BYTES
  .align 8
cos_sinv_stack_bitmap:
  .skip 8
  .section .note.GNU-stack, "", @progbits
