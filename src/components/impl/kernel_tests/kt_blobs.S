/* Machine code for child components, and two helpers of kernel_tests.

   The blobs live in .rodata: they are never executed here. A test copies the
   bytes between kt_blob_<name>_start and kt_blob_<name>_end into a frame and
   maps it executable at 0x400000 in a child component (kt::Child). Every blob
   is position independent (only relative jumps inside itself, absolute
   addresses only as data). Child conventions (kt.hpp):
     child slot 1 = an asnd capability (kChildAsnd)
     child slot 2 = a sinv gate into the child itself (kChildSelfGate)
     0x600000     = the child's data page (kChildData)
   System-call numbers come from cos/abi_asm.h (checked against cos/abi.hpp).
   Encodings are given as bytes next to each instruction. */
#include "cos/abi_asm.h"
#define OP_SINV COS_OP_SINV
#define OP_SRET COS_OP_SRET
#define OP_THD_EXIT COS_OP_THD_EXIT
#define OP_ASND COS_OP_ASND
#define OP_COMP_EXIT COS_OP_COMP_EXIT
#define CHILD_ASND 1
#define CHILD_SELF_GATE 2

  .section .rodata.kt_blobs, "a"

/* asnd_exit: thread body. Notifies child slot 1 once, then exits. */
  .global kt_blob_asnd_exit_start, kt_blob_asnd_exit_end
kt_blob_asnd_exit_start:
  mov $OP_ASND, %eax          /* b8 13 00 00 00 */
  mov $CHILD_ASND, %edi       /* bf 01 00 00 00 */
  syscall                     /* 0f 05          asnd(1) */
  mov $OP_THD_EXIT, %eax      /* b8 0e 00 00 00 */
  syscall                     /* 0f 05          thd_exit() */
  ud2                         /* 0f 0b          never reached */
kt_blob_asnd_exit_end:

/* asnd_comp_exit: thread body. Notifies child slot 1 once, then ends the
   whole child component: comp_exit(5, no reason). */
  .global kt_blob_asnd_comp_exit_start, kt_blob_asnd_comp_exit_end
kt_blob_asnd_comp_exit_start:
  mov $OP_ASND, %eax          /* b8 13 00 00 00 */
  mov $CHILD_ASND, %edi       /* bf 01 00 00 00 */
  syscall                     /* 0f 05          asnd(1) */
  mov $OP_COMP_EXIT, %eax     /* b8 29 00 00 00 */
  mov $5, %edi                /* bf 05 00 00 00 status 5 */
  xor %esi, %esi              /* 31 f6          no reason */
  xor %edx, %edx              /* 31 d2 */
  syscall                     /* 0f 05          comp_exit(5, 0, 0) */
  ud2                         /* 0f 0b          never reached */
kt_blob_asnd_comp_exit_end:

/* asnd_n_exit: thread body. Notifies child slot 1 rdi (the thread's arg)
   times, then exits. rbx survives syscall (only rcx and r11 are clobbered). */
  .global kt_blob_asnd_n_exit_start, kt_blob_asnd_n_exit_end
kt_blob_asnd_n_exit_start:
  mov %rdi, %rbx              /* 48 89 fb       n = arg */
1:
  test %rbx, %rbx             /* 48 85 db */
  jz 2f                       /* 74 11 */
  mov $OP_ASND, %eax          /* b8 13 00 00 00 */
  mov $CHILD_ASND, %edi       /* bf 01 00 00 00 */
  syscall                     /* 0f 05          asnd(1) */
  dec %rbx                    /* 48 ff cb */
  jmp 1b                      /* eb ea */
2:
  mov $OP_THD_EXIT, %eax      /* b8 0e 00 00 00 */
  syscall                     /* 0f 05          thd_exit() */
  ud2                         /* 0f 0b */
kt_blob_asnd_n_exit_end:

/* tf_syscall: thread body. Sets RFLAGS.TF right before a system call, so
   the single-step trap of the SYSCALL instruction is taken in the kernel at
   its entry (on the #DB IST stack), then asnd(1) runs; back in user mode
   with TF still set, the next instruction traps: the child's own #DB. */
  .global kt_blob_tf_syscall_start, kt_blob_tf_syscall_end
kt_blob_tf_syscall_start:
  mov $OP_ASND, %eax          /* b8 13 00 00 00 */
  mov $CHILD_ASND, %edi       /* bf 01 00 00 00 */
  pushfq                      /* 9c */
  orq $0x100, (%rsp)          /* 48 81 0c 24 00 01 00 00 */
  popfq                       /* 9d             TF = 1: trap after the next instruction */
  syscall                     /* 0f 05          asnd(1), single-stepped */
  nop                         /* 90             #DB in user mode after this */
  mov $OP_ASND, %eax          /* never reached */
  mov $CHILD_ASND, %edi
  syscall
  ud2
kt_blob_tf_syscall_end:

/* fpu_probe: sinv entry. Stores the FPU/SSE state it starts with (FXSAVE)
   at the child's data page, then fills every register with markers (XMM all
   ones, eight 1.0 on the x87 stack, FTZ in MXCSR, 53-bit precision in FCW)
   and returns r0 = 1: none of that may reach the client. */
  .global kt_blob_fpu_probe_start, kt_blob_fpu_probe_end
kt_blob_fpu_probe_start:
  movabs $0x600000, %rax      /* the child's data page (kChildData) */
  fxsave64 (%rax)
  pcmpeqd %xmm0, %xmm0
  pcmpeqd %xmm1, %xmm1
  pcmpeqd %xmm2, %xmm2
  pcmpeqd %xmm3, %xmm3
  pcmpeqd %xmm4, %xmm4
  pcmpeqd %xmm5, %xmm5
  pcmpeqd %xmm6, %xmm6
  pcmpeqd %xmm7, %xmm7
  pcmpeqd %xmm8, %xmm8
  pcmpeqd %xmm9, %xmm9
  pcmpeqd %xmm10, %xmm10
  pcmpeqd %xmm11, %xmm11
  pcmpeqd %xmm12, %xmm12
  pcmpeqd %xmm13, %xmm13
  pcmpeqd %xmm14, %xmm14
  pcmpeqd %xmm15, %xmm15
  .rept 8
  fld1
  .endr
  movl $0x9f80, 512(%rax)
  ldmxcsr 512(%rax)
  movw $0x027f, 516(%rax)
  fldcw 516(%rax)
  mov $1, %edi                /* r0 */
  xor %esi, %esi              /* r1 */
  mov $OP_SRET, %eax
  syscall
  ud2
kt_blob_fpu_probe_end:

/* sret_echo: sinv entry (rdi = token, rsi = op, rdx = a0). Returns
   r0 = a0 + 1, r1 = token. Uses no stack. */
  .global kt_blob_sret_echo_start, kt_blob_sret_echo_end
kt_blob_sret_echo_start:
  mov %rdi, %rsi              /* 48 89 fe       r1 = token */
  lea 1(%rdx), %rdi           /* 48 8d 7a 01    r0 = a0 + 1 */
  mov $OP_SRET, %eax          /* b8 0c 00 00 00 */
  syscall                     /* 0f 05          sret(r0, r1) */
  ud2                         /* 0f 0b */
kt_blob_sret_echo_end:

/* ud2: faults at once (#UD), as a thread body or a sinv entry. */
  .global kt_blob_ud2_start, kt_blob_ud2_end
kt_blob_ud2_start:
  ud2                         /* 0f 0b */
kt_blob_ud2_end:

/* asnd_store_asnd_exit: thread body. asnd(1); stores 0xc0ffee at the data
   page 0x600000; asnd(1); exits. With a read-only data page the store
   faults, so exactly one notification arrives and the child dies. */
  .global kt_blob_asnd_store_asnd_exit_start, kt_blob_asnd_store_asnd_exit_end
kt_blob_asnd_store_asnd_exit_start:
  mov $OP_ASND, %eax          /* b8 13 00 00 00 */
  mov $CHILD_ASND, %edi       /* bf 01 00 00 00 */
  syscall                     /* 0f 05          asnd(1) */
  movl $0xc0ffee, 0x600000    /* c7 04 25 00 00 60 00 ee ff c0 00   absolute store */
  mov $OP_ASND, %eax          /* b8 13 00 00 00 */
  mov $CHILD_ASND, %edi       /* bf 01 00 00 00 */
  syscall                     /* 0f 05          asnd(1) */
  mov $OP_THD_EXIT, %eax      /* b8 0e 00 00 00 */
  syscall                     /* 0f 05          thd_exit() */
  ud2                         /* 0f 0b */
kt_blob_asnd_store_asnd_exit_end:

/* spin: thread body that never ends by itself. */
  .global kt_blob_spin_start, kt_blob_spin_end
kt_blob_spin_start:
1:
  pause                       /* f3 90 */
  jmp 1b                      /* eb fc */
kt_blob_spin_end:

/* read_count: thread body that reads the child's data page (kChildData,
   0x600000) and counts each read at rdi, forever: the read faults once the
   page is unmapped (t_smp.cpp). */
  .global kt_blob_read_count_start, kt_blob_read_count_end
kt_blob_read_count_start:
1:
  mov 0x600000, %rax          /* 48 8b 04 25 00 00 60 00 */
  incq (%rdi)                 /* 48 ff 07 */
  pause                       /* f3 90 */
  jmp 1b                      /* eb f1 */
kt_blob_read_count_end:

/* recurse: sinv entry that invokes itself through child slot 2 until the
   kernel refuses, then unwinds: r0 = the innermost error, r1 = the number of
   invocations that were entered (each level adds one on the way out). */
  .global kt_blob_recurse_start, kt_blob_recurse_end
kt_blob_recurse_start:
  xor %edx, %edx              /* 31 d2          a0 = 0: a refused sinv leaves rdx 0 */
  xor %esi, %esi              /* 31 f6          op 0 */
  mov $CHILD_SELF_GATE, %edi  /* bf 02 00 00 00 */
  mov $OP_SINV, %eax          /* b8 0b 00 00 00 */
  syscall                     /* 0f 05          sinv(2, 0, 0, ...) -> rax, rdx */
  mov %rax, %rdi              /* 48 89 c7       r0 = inner r0 */
  lea 1(%rdx), %rsi           /* 48 8d 72 01    r1 = inner r1 + 1 */
  mov $OP_SRET, %eax          /* b8 0c 00 00 00 */
  syscall                     /* 0f 05          sret(r0, r1) */
  ud2                         /* 0f 0b */
kt_blob_recurse_end:

/* regleak: sinv entry returning r0 = rbx | rbp | r9 | r12 | r13 | r14 | r15
   as the server sees them: the kernel must not pass the client's values. */
  .global kt_blob_regleak_start, kt_blob_regleak_end
kt_blob_regleak_start:
  mov %rbx, %rax              /* 48 89 d8 */
  or %rbp, %rax               /* 48 09 e8 */
  or %r9, %rax                /* 4c 09 c8 */
  or %r12, %rax               /* 4c 09 e0 */
  or %r13, %rax               /* 4c 09 e8 */
  or %r14, %rax               /* 4c 09 f0 */
  or %r15, %rax               /* 4c 09 f8 */
  mov %rax, %rdi              /* 48 89 c7       r0 */
  xor %esi, %esi              /* 31 f6          r1 = 0 */
  mov $OP_SRET, %eax          /* b8 0c 00 00 00 */
  syscall                     /* 0f 05          sret(r0, 0) */
  ud2                         /* 0f 0b */
kt_blob_regleak_end:

  .text

/* Helper-thread entry (kt::start_helper): rdi = the kt::Helper. The stack
   top is 16-byte aligned, so the call leaves the ABI's alignment. After
   kt_thread_main returns, Helper::state (offset 0) becomes 2 with no further
   stack use, so the owner may reuse the stack as soon as it sees it. */
  .global kt_thread_entry
kt_thread_entry:
  xor %ebp, %ebp
  mov %rdi, %rbx
  call kt_thread_main
  movl $2, (%rbx)
  mov $OP_THD_EXIT, %eax
  syscall
  ud2

/* int64_t kt_sinv_with_secrets(uint64_t slot): sinv(slot, 0, 0, 0, 0) with
   rbx, rbp, r9, r12..r15 set to known non-zero values; returns rax. */
  .global kt_sinv_with_secrets
kt_sinv_with_secrets:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  movabs $0x5ec2e70000000001, %rbx
  movabs $0x5ec2e70000000002, %rbp
  movabs $0x5ec2e70000000003, %r9
  movabs $0x5ec2e70000000004, %r12
  movabs $0x5ec2e70000000005, %r13
  movabs $0x5ec2e70000000006, %r14
  movabs $0x5ec2e70000000007, %r15
  xor %esi, %esi
  xor %edx, %edx
  xor %r10d, %r10d
  xor %r8d, %r8d
  mov $OP_SINV, %eax
  syscall
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret

  .section .note.GNU-stack, "", @progbits

/* int64_t kt_fpu_sinv_probe(uint64_t gate, void* out): fills every FPU/SSE
   register with markers (XMM 0x5a bytes, eight 1.0 on the x87 stack, DAZ in
   MXCSR, 24-bit precision in FCW), invokes `gate` with a raw sinv (no
   runtime stub, which would restore MXCSR and FCW) and stores the FPU/SSE
   state the kernel returns with into out (FXSAVE image: 512 bytes, 16-byte
   aligned). Returns the server's r0. Callee-saved GPRs are kept. */
  .text
  .global kt_fpu_sinv_probe
kt_fpu_sinv_probe:
  push %rbx
  push %rbp
  push %r12
  push %r13
  push %r14
  push %r15
  push %rsi                   /* out */
  sub $16, %rsp
  movl $0x5a5a5a5a, (%rsp)
  movd (%rsp), %xmm0
  pshufd $0, %xmm0, %xmm0
  movdqa %xmm0, %xmm1
  movdqa %xmm0, %xmm2
  movdqa %xmm0, %xmm3
  movdqa %xmm0, %xmm4
  movdqa %xmm0, %xmm5
  movdqa %xmm0, %xmm6
  movdqa %xmm0, %xmm7
  movdqa %xmm0, %xmm8
  movdqa %xmm0, %xmm9
  movdqa %xmm0, %xmm10
  movdqa %xmm0, %xmm11
  movdqa %xmm0, %xmm12
  movdqa %xmm0, %xmm13
  movdqa %xmm0, %xmm14
  movdqa %xmm0, %xmm15
  .rept 8
  fld1
  .endr
  movl $0x1fc0, (%rsp)
  ldmxcsr (%rsp)
  movw $0x007f, 4(%rsp)
  fldcw 4(%rsp)
  add $16, %rsp
  xor %esi, %esi              /* op 0 */
  mov $OP_SINV, %eax          /* rdi = gate */
  syscall
  pop %rsi
  fxsave64 (%rsi)
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbp
  pop %rbx
  ret
