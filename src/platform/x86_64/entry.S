/* Kernel entry and exit paths.
   Entries from ring 3 save registers straight into the current thread's Regs
   (TSS.RSP0 and PerCpu::regs_top point at its end), then switch to the
   per-CPU kernel stack; the kernel never returns through the entry stack but
   resumes a thread with user_return_iret / user_return_sysret. */
#include "x86_64/asm_constants.h"

.macro PUSH_GPRS
  push %rax
  push %rbx
  push %rcx
  push %rdx
  push %rsi
  push %rdi
  push %rbp
  push %r8
  push %r9
  push %r10
  push %r11
  push %r12
  push %r13
  push %r14
  push %r15
.endm

.macro POP_GPRS
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %r11
  pop %r10
  pop %r9
  pop %r8
  pop %rbp
  pop %rdi
  pop %rsi
  pop %rdx
  pop %rcx
  pop %rbx
  pop %rax
.endm

  .text
/* Exception/interrupt stubs, one per vector, each 16-byte aligned so the
   IDT can compute stub addresses as isr_stubs + 16 * vector. Vectors with a
   CPU-pushed error code (Intel SDM Vol. 3A, table 6-1) skip the dummy push. */
.macro ISR_NOERR vec
  .align 16
  push $0
  push $\vec
  jmp isr_common
.endm
.macro ISR_ERR vec
  .align 16
  push $\vec
  jmp isr_common
.endm

/* #DB, NMI, #DF and #MC arrive on IST stacks (gdt.hpp) and go to ist_common. */
.macro ISR_IST_NOERR vec
  .align 16
  push $0
  push $\vec
  jmp ist_common
.endm
.macro ISR_IST_ERR vec
  .align 16
  push $\vec
  jmp ist_common
.endm

  .global isr_stubs
  .align 16
isr_stubs:
  ISR_NOERR 0
  ISR_IST_NOERR 1
  ISR_IST_NOERR 2
  ISR_NOERR 3
  ISR_NOERR 4
  ISR_NOERR 5
  ISR_NOERR 6
  ISR_NOERR 7
  ISR_IST_ERR 8
  ISR_NOERR 9
  ISR_ERR 10
  ISR_ERR 11
  ISR_ERR 12
  ISR_ERR 13
  ISR_ERR 14
  ISR_NOERR 15
  ISR_NOERR 16
  ISR_ERR 17
  ISR_IST_NOERR 18
  ISR_NOERR 19
  ISR_NOERR 20
  ISR_ERR 21
.set vec, 22
.rept 256 - 22
  ISR_NOERR vec
  .set vec, vec + 1
.endr

isr_common:
  testb $3, 24(%rsp)          /* CS of the interrupted context */
  jz 1f
  swapgs
  PUSH_GPRS
  mov %rsp, %rdi
  mov %gs:PERCPU_KSTACK, %rsp
  call trap_from_user         /* never returns */
  ud2
1:
  PUSH_GPRS
  mov %rsp, %rdi
  call trap_from_kernel
  POP_GPRS
  add $16, %rsp
  iretq

/* The IST vectors can interrupt any instruction, including those of the
   system-call entry and exit where CS already (or still) says kernel while
   GS is the user's and RSP the user's choice: the frame is on the vector's
   own stack, and GS is swapped only for an interrupted user context (CS
   says user, so the swap state is certain). trap_ist never uses GS; it
   returns when the interrupted context may go on. */
ist_common:
  testb $3, 24(%rsp)
  jz 1f
  swapgs
1:
  PUSH_GPRS
  mov %rsp, %rdi
  call trap_ist
  POP_GPRS
  testb $3, 24(%rsp)
  jz 2f
  swapgs
2:
  add $16, %rsp
  iretq

/* SYSCALL: rcx = user rip, r11 = user rflags (Intel SDM Vol. 2B, SYSCALL).
   sinv and sret first try their fast paths (kernel/sinv.cpp); every other
   call, and a fast path that gives up, saves the whole register frame into
   the thread and takes the general path. */
  .global syscall_entry
  .align 16
syscall_entry:
  swapgs
  cmp $COS_OP_SINV, %rax
  je sinv_fastpath
  cmp $COS_OP_SRET, %rax
  je sret_fastpath
syscall_general:
  mov %rsp, %gs:PERCPU_USER_RSP
  mov %gs:PERCPU_REGS_TOP, %rsp
  push $USER_SS               /* ss */
  push %gs:PERCPU_USER_RSP    /* rsp */
  push %r11                   /* rflags */
  push $USER_CS               /* cs */
  push %rcx                   /* rip */
  push $0                     /* error */
  push $SYSCALL_VECTOR
  PUSH_GPRS
  mov %rsp, %rdi
  mov %gs:PERCPU_KSTACK, %rsp
  call syscall_from_user      /* never returns */
  ud2

/* The registers a fast path's C++ half may clobber, kept on the kernel stack
   so that the general path still sees the caller's values if it gives up. */
.macro FAST_SAVE
  mov %rsp, %gs:PERCPU_USER_RSP
  mov %gs:PERCPU_KSTACK, %rsp
  push %rax
  push %rcx
  push %rdx
  push %rsi
  push %rdi
  push %r8
  push %r9
  push %r10
  push %r11
  push $0                     /* keeps the stack 16-byte aligned for the call */
.endm
.macro FAST_GIVE_UP
  add $8, %rsp
  pop %r11
  pop %r10
  pop %r9
  pop %r8
  pop %rdi
  pop %rsi
  pop %rdx
  pop %rcx
  pop %rax
  mov %gs:PERCPU_USER_RSP, %rsp
  jmp syscall_general
.endm
/* Saved-register offsets on the kernel stack after FAST_SAVE. */
#define FAST_R10 16
#define FAST_R8 32
#define FAST_RDI 40
#define FAST_RSI 48
#define FAST_RDX 56

/* sinv(slot = rdi, op = rsi, a0 = rdx, a1 = r10, a2 = r8): enter the server
   at the gate's entry with rdi = token, the argument registers kept, every
   other register cleared and no stack (rsp = 0). */
sinv_fastpath:
  FAST_SAVE
  mov %rcx, %rsi              /* user rip */
  mov %gs:PERCPU_USER_RSP, %rdx
  mov %r11, %rcx              /* user rflags */
  call cos_sinv_fastpath      /* rdi = slot; returns rax = entry (0: give up), rdx = token */
  test %rax, %rax
  jnz 1f
  FAST_GIVE_UP
1:
  mov %rax, %rcx              /* sysret: rip */
  mov %rdx, %rdi              /* token */
  mov FAST_RSI(%rsp), %rsi
  mov FAST_RDX(%rsp), %rdx
  mov FAST_R10(%rsp), %r10
  mov FAST_R8(%rsp), %r8
  mov $USER_RFLAGS, %r11      /* sysret: rflags */
  xor %eax, %eax
  xor %ebx, %ebx
  xor %ebp, %ebp
  xor %r9d, %r9d
  xor %r12d, %r12d
  xor %r13d, %r13d
  xor %r14d, %r14d
  xor %r15d, %r15d
  xor %esp, %esp
  fxrstor64 fpu_clean_image(%rip)  /* the server starts with clean FPU/SSE state */
  swapgs
  sysretq

/* sret(r0 = rdi, r1 = rsi): back to the client's frame with rax = r0,
   rdx = r1, every other register cleared. */
sret_fastpath:
  FAST_SAVE
  call cos_sret_fastpath      /* returns the InvocationFrame* (0: give up) */
  test %rax, %rax
  jnz 1f
  FAST_GIVE_UP
1:
  mov INVFRAME_RIP(%rax), %rcx
  mov INVFRAME_RFLAGS(%rax), %r11
  mov INVFRAME_RSP(%rax), %r8   /* the client's stack */
  mov FAST_RSI(%rsp), %rdx
  mov FAST_RDI(%rsp), %rax
  mov %r8, %rsp
  xor %ebx, %ebx
  xor %ebp, %ebp
  xor %esi, %esi
  xor %edi, %edi
  xor %r8d, %r8d
  xor %r9d, %r9d
  xor %r10d, %r10d
  xor %r12d, %r12d
  xor %r13d, %r13d
  xor %r14d, %r14d
  xor %r15d, %r15d
  fxrstor64 fpu_clean_image(%rip)  /* nothing of the server's FPU/SSE state returns */
  swapgs
  sysretq

/* user_return_iret(Regs*): resume any context (interrupted or new). */
  .global user_return_iret
user_return_iret:
  mov %rdi, %rsp
  POP_GPRS
  add $16, %rsp
  swapgs
  iretq

/* user_return_sysret(Regs*): resume a context that entered via syscall;
   the caller guarantees rip is canonical (SYSRET #GP is taken in ring 0). */
  .global user_return_sysret
user_return_sysret:
  mov %rdi, %rsp
  POP_GPRS
  mov 16(%rsp), %rcx          /* rip */
  mov 32(%rsp), %r11          /* rflags */
  mov 40(%rsp), %rsp          /* user rsp */
  swapgs
  sysretq


/* vcpu_guest_loop_on_stack(Thread* t, stack_top): switch to a fresh kernel
   stack and run the thread's guest (kernel/vcpu_run.cpp); never returns. */
  .global vcpu_guest_loop_on_stack
vcpu_guest_loop_on_stack:
  mov %rsi, %rsp
  call vcpu_guest_loop_c
  ud2
