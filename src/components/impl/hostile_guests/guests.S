/* hostile_guests' guest programs. Each is data for the VMM: a program is
   copied to guest-physical 0x1000 (vmtest::layout::kCode), the exception
   handlers of its mode to 0x3000 (kHandlers); they talk through the mailbox
   page (mailbox.h). hg_<name>_start / hg_<name>_end delimit a snippet and
   hg_<label>_at marks an address the VMM needs (its offset from the
   snippet's start plus the load address is the guest address).

   Exception handlers (handlers16/32/64): vector v enters at 0x3000 +
   v * stride (8 in real mode, 16 otherwise), counts the exception in
   MB_COUNTS[v], records vector, error code, interrupted IP and CR2, and
   resumes at MB_RESUME; with MB_RESUME = 0 it halts (HLT at
   hg_handlers*_halt_at). A program sets MB_RESUME before each instruction
   that may fault (the PROBE macros), so "what did the CPU do" is a vector
   in MB_PROBES[i] (0xff: nothing). */
#include "hostile_guests/mailbox.h"

#define CODE 0x1000
#define HANDLERS 0x3000

  .section .rodata.hostile_guests, "a"

.macro SNIPPET name
  .global hg_\name\()_start, hg_\name\()_end
  .balign 16
hg_\name\()_start:
.endm
.macro END name
hg_\name\()_end:
.endm
.macro AT label
  .global hg_\label\()_at
hg_\label\()_at:
.endm

/* A probe: instructions that may fault, with the handlers resuming after
   them; the vector they raised (0xff: none) goes to MB_PROBES[i].
     P64 ... P64_END i       (64-bit; P64 clobbers rax, P64_END eax)
     P32 name ... P32_END i  (32-bit code in snippet `name`, loaded at CODE)
     P16 name ... P16_END i  (real mode, CS = 0: the mailbox through CS)
   PROBE64 i, insn etc. wrap a single instruction. The body must not define
   the local label 9. */
.macro P64
  movl $0xff, MB_LAST_VECTOR
  lea 9f(%rip), %rax
  mov %rax, MB_RESUME
.endm
.macro P64_END i
9:
  mov MB_LAST_VECTOR, %eax
  mov %eax, MB_PROBES + 4 * \i
.endm
.macro PROBE64 i, insn:vararg
  P64
  \insn
  P64_END \i
.endm
.macro P32 name
  movl $0xff, MB_LAST_VECTOR
  movl $(9f - hg_\name\()_start + CODE), MB_RESUME
.endm
.macro P32_END i
9:
  mov MB_LAST_VECTOR, %eax
  mov %eax, MB_PROBES + 4 * \i
.endm
.macro PROBE32 name, i, insn:vararg
  P32 \name
  \insn
  P32_END \i
.endm
.macro P16 name
  movl $0xff, %cs:MB_LAST_VECTOR
  movw $(9f - hg_\name\()_start + CODE), %cs:MB_RESUME
.endm
.macro P16_END i
9:
  mov %cs:MB_LAST_VECTOR, %eax
  mov %eax, %cs:MB_PROBES + 4 * \i
.endm
.macro PROBE16 name, i, insn:vararg
  P16 \name
  \insn
  P16_END \i
.endm

/* ================================================================ handlers */

  .code16
SNIPPET handlers16
  .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  .balign 8
  pushw $\v
  jmp .Lh16_common
  .endr
.Lh16_common:
  push %ax
  push %bx
  push %bp
  mov %sp, %bp
  mov 6(%bp), %bx            /* vector */
  movzwl %bx, %eax
  mov %eax, %cs:MB_LAST_VECTOR
  movl $0, %cs:MB_LAST_ERROR
  incl %cs:MB_FAULTS
  shl $2, %bx
  incl %cs:MB_COUNTS(%bx)
  mov 8(%bp), %ax            /* interrupted IP */
  mov %ax, %cs:MB_LAST_IP
  mov %cs:MB_RESUME, %ax
  test %ax, %ax
  jz .Lh16_halt
  mov %ax, 8(%bp)            /* resume there, CS 0 */
  movw $0, 10(%bp)
  pop %bp
  pop %bx
  pop %ax
  add $2, %sp
  iret
AT handlers16_halt
.Lh16_halt:
  hlt
  jmp .Lh16_halt
END handlers16

  .code32
SNIPPET handlers32
  .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  .balign 16
  push $\v
  jmp .Lh32_common
  .endr
.Lh32_common:
  push %eax
  push %ebx
  mov 8(%esp), %eax          /* vector */
  mov %eax, MB_LAST_VECTOR
  incl MB_FAULTS
  incl MB_COUNTS(,%eax,4)
  mov %cr2, %ebx
  mov %ebx, MB_CR2
  movl $0, MB_CR2 + 4
  mov $ERROR_CODE_VECTORS, %ebx
  bt %eax, %ebx
  jnc 2f
  mov 12(%esp), %ebx         /* error code; EIP above it */
  mov %ebx, MB_LAST_ERROR
  mov 16(%esp), %ebx
  mov %ebx, MB_LAST_IP
  mov MB_RESUME, %ebx
  test %ebx, %ebx
  jz .Lh32_halt
  mov %ebx, 16(%esp)
  pop %ebx
  pop %eax
  add $8, %esp
  iret
2:
  movl $0, MB_LAST_ERROR
  mov 12(%esp), %ebx
  mov %ebx, MB_LAST_IP
  mov MB_RESUME, %ebx
  test %ebx, %ebx
  jz .Lh32_halt
  mov %ebx, 12(%esp)
  pop %ebx
  pop %eax
  add $4, %esp
  iret
AT handlers32_halt
.Lh32_halt:
  hlt
  jmp .Lh32_halt
END handlers32

  .code64
SNIPPET handlers64
  .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  .balign 16
  push $\v
  jmp .Lh64_common
  .endr
.Lh64_common:
  push %rax
  push %rbx
  mov 16(%rsp), %rax         /* vector */
  mov %eax, MB_LAST_VECTOR
  incl MB_FAULTS
  incl MB_COUNTS(,%rax,4)
  mov %cr2, %rbx
  mov %rbx, MB_CR2
  mov $ERROR_CODE_VECTORS, %ebx
  bt %eax, %ebx
  jnc 2f
  mov 24(%rsp), %rbx         /* error code; RIP above it */
  mov %ebx, MB_LAST_ERROR
  mov 32(%rsp), %rbx
  mov %rbx, MB_LAST_IP
  mov MB_RESUME, %rbx
  test %rbx, %rbx
  jz .Lh64_halt
  mov %rbx, 32(%rsp)
  pop %rbx
  pop %rax
  add $16, %rsp
  iretq
2:
  movl $0, MB_LAST_ERROR
  mov 24(%rsp), %rbx
  mov %rbx, MB_LAST_IP
  mov MB_RESUME, %rbx
  test %rbx, %rbx
  jz .Lh64_halt
  mov %rbx, 24(%rsp)
  pop %rbx
  pop %rax
  add $8, %rsp
  iretq
AT handlers64_halt
.Lh64_halt:
  hlt
  jmp .Lh64_halt
END handlers64

/* ================================================================ #DB and #AC loops */

  .code16
/* Single-stepping for ever: the #DB handler (IVT 1) counts in MB_R0 and
   returns with TF still set in the saved FLAGS. */
SNIPPET db_tf_real
  cli
  pushf
  pop %ax
  or $0x100, %ax
  push %ax
  popf
1:
  inc %cx
  jmp 1b
AT db_tf_real_handler
  incl %cs:MB_R0
  iret
END db_tf_real

  .code64
SNIPPET db_tf_long
  cli
  pushfq
  orq $0x100, (%rsp)
  popfq
1:
  inc %rcx
  jmp 1b
AT db_tf_long_handler
  incq MB_R0
  iretq
END db_tf_long

/* An instruction breakpoint (DR0) on the #DB handler's first instruction,
   the handler on IST1: delivering #DB re-triggers #DB before the handler
   runs, with the same stack every time (the CVE-2015-8104 shape). */
SNIPPET db_ist_loop_long
  cli
  lea hg_db_ist_loop_long_handler_at(%rip), %rax
  mov %rax, %dr0
  mov $0x401, %eax           /* L0, execution breakpoint */
  mov %rax, %dr7
  jmp hg_db_ist_loop_long_handler_at
AT db_ist_loop_long_handler
  incq MB_R0
  iretq
END db_ist_loop_long

/* A write breakpoint on the IST1 stack slot that #DB delivery writes first
   (SS at IST top - 8): delivering a #DB hits it, so the next #DB is due as
   soon as the delivery ends. The handler clears TF and counts. */
SNIPPET db_stack_bp_long
  cli
  mov $0x6ff8, %eax          /* vmtest::layout::kIstTop - 8 */
  mov %rax, %dr0
  mov $0x90401, %eax         /* L0, R/W0 = 01 (writes), LEN0 = 10 (8 bytes) */
  mov %rax, %dr7
  pushfq
  orq $0x100, (%rsp)
  popfq
  nop
AT db_stack_bp_long_after
  hlt
AT db_stack_bp_long_handler
  incq MB_R0
  andq $~0x100, 16(%rsp)
  iretq
END db_stack_bp_long

/* #AC at CPL 3 for ever: CR0.AM (set by the VMM) and RFLAGS.AC, a
   misaligned load; the #AC handler (IST1) counts in MB_R0 and returns to
   the load. MB_R1 counts loads that completed (a CPU without #AC). */
SNIPPET ac_cpl3_long
  cli
  push $SEL_USER_DATA
  push $0x7800
  push $0x40002              /* RFLAGS.AC */
  push $SEL_USER_CODE64
  lea 1f(%rip), %rax
  push %rax
  iretq
1:
  mov $0x8001, %ebx
2:
  mov (%rbx), %eax
  incq MB_R1
  jmp 2b
AT ac_cpl3_long_handler
  incq MB_R0
  add $8, %rsp               /* error code */
  iretq
END ac_cpl3_long

  .code32
/* #AC delivered at CPL 3 onto a misaligned stack: the #AC gate leads to a
   conforming code segment (no privilege change), so delivering #AC pushes
   onto the misaligned user stack with RFLAGS.AC set (the CVE-2015-5307
   shape). The handler counts in MB_R0; completed loads count in MB_R1. */
SNIPPET ac_conforming_pm32
  cli
  mov $SEL_TSS32, %eax       /* TR the way a protected-mode OS loads it */
  ltr %ax
  push $SEL_USER_DATA
  push $0x7801               /* misaligned */
  push $0x40002              /* EFLAGS.AC */
  push $SEL_USER_CODE32
  push $(1f - hg_ac_conforming_pm32_start + CODE)
  iret
1:
  mov $SEL_USER_DATA, %eax
  mov %eax, %ds
  mov %eax, %es
  mov $0x8001, %ebx
2:
  mov (%ebx), %eax
  incl MB_R1
  jmp 2b
AT ac_conforming_pm32_handler
  incl MB_R0
  add $4, %esp
  iret
END ac_conforming_pm32

/* ================================================================ triple faults */

  .code16
/* INT beyond the IDT limit (the VMM sets it to 0): #GP, #DF, shutdown. */
SNIPPET triple_real
  int $0x21
  hlt
END triple_real

  .code32
SNIPPET triple_pm32
  ud2
  hlt
END triple_pm32

  .code64
SNIPPET triple_long
  ud2
  hlt
END triple_long

/* A stack nothing maps (8 GiB; the page tables map 4 GiB): #UD cannot be
   delivered (#PF), neither can #PF (#DF) nor #DF. */
SNIPPET triple_stack_long
  mov $0x200000000, %rsp
  ud2
  hlt
END triple_stack_long

/* ================================================================ ports */

  .code16
/* Every MB_ARG0-th port from 0 to 0xffff: IN in the three sizes (a
   byte/word IN keeps the rest of EAX), then OUT of PORT_OUT8/16/32.
   MB_R0 = INs that did not read all ones, MB_R1 = ports visited. */
SNIPPET ports_real
  mov %cs:MB_ARG0, %bp
  xor %esi, %esi
  xor %edi, %edi
  xor %dx, %dx
1:
  mov $0x12345678, %eax
  in %dx, %al
  cmp $0x123456ff, %eax
  je 2f
  inc %esi
2:
  mov $0x12345678, %eax
  in %dx, %ax
  cmp $0x1234ffff, %eax
  je 3f
  inc %esi
3:
  xor %eax, %eax
  in %dx, %eax
  cmp $0xffffffff, %eax
  je 4f
  inc %esi
4:
  mov $PORT_OUT8, %al
  out %al, %dx
  mov $PORT_OUT16, %ax
  out %ax, %dx
  mov $PORT_OUT32, %eax
  out %eax, %dx
  inc %edi
  add %bp, %dx
  jnc 1b
  mov %esi, %cs:MB_R0
  mov %edi, %cs:MB_R1
AT ports_real_done
  hlt
END ports_real

  .code64
/* The same in long mode, where a 32-bit IN zero-extends into RAX. */
SNIPPET ports_long
  mov MB_ARG0, %rbp
  xor %esi, %esi
  xor %edi, %edi
  xor %edx, %edx
  mov $0x1122334455667788, %r8
1:
  mov %r8, %rax
  in %dx, %al
  mov $0x11223344556677ff, %r9
  cmp %r9, %rax
  je 2f
  inc %esi
2:
  mov %r8, %rax
  in %dx, %ax
  mov $0x112233445566ffff, %r9
  cmp %r9, %rax
  je 3f
  inc %esi
3:
  mov %r8, %rax
  in %dx, %eax
  mov $0xffffffff, %r9d
  cmp %r9, %rax
  je 4f
  inc %esi
4:
  mov $PORT_OUT8, %al
  out %al, %dx
  mov $PORT_OUT16, %ax
  out %ax, %dx
  mov $PORT_OUT32, %eax
  out %eax, %dx
  inc %edi
  add %bp, %dx
  jnc 1b
  mov %rsi, MB_R0
  mov %rdi, MB_R1
AT ports_long_done
  hlt
END ports_long

/* What would stop or reset the emulator, or talk to the kernel's own
   devices, if it reached them: QEMU's isa-debug-exit (0xf4), Bochs'
   shutdown port (0x8900, "Shutdown"), the reset control register (0xcf9),
   the keyboard controller's reset (0x64), fast reset (0x92), the PIC's
   ICW1 (0x20) and the COM1 transmit register (0x3f8). */
SNIPPET emulator_ports_long
  mov $0xf4, %edx
  mov $0x31, %al
  out %al, %dx
  xor %eax, %eax
  out %eax, %dx
  mov $0x8900, %edx
  lea 2f(%rip), %rsi
  mov $8, %ecx
  cld
  rep outsb
  mov $0xcf9, %edx
  mov $0x0e, %al
  out %al, %dx
  mov $0x64, %edx
  mov $0xfe, %al
  out %al, %dx
  mov $0x92, %edx
  mov $0x01, %al
  out %al, %dx
  mov $0x20, %edx
  mov $0x11, %al
  out %al, %dx
  mov $0x3f8, %edx
  lea 3f(%rip), %rsi
  mov $4, %ecx
  rep outsb
  mov $0x3fd, %edx           /* COM1 line status: all ones, not the kernel's UART */
  in %dx, %al
  movzbl %al, %eax
  mov %rax, MB_R0
AT emulator_ports_long_done
  hlt
2:
  .ascii "Shutdown"
3:
  .ascii "PWN\n"
END emulator_ports_long

  .code32
/* Port I/O at CPL 3 with EFLAGS.IOPL = MB_ARG0: IOPL 0 and no I/O bitmap in
   the TSS: #GP(0) before any exit; IOPL 3: the ports exit as at CPL 0.
   Ends with HLT at CPL 3 (#GP; MB_RESUME 0: the handler halts). With the
   TR the VMM loaded (busy type), the #GP's privilege change made QEMU's TCG
   abort until the SVM backend loaded TR available. */
SNIPPET ports_cpl3_pm32
  cli
  mov MB_ARG0, %eax
  shl $12, %eax
  or $0x2, %eax
  push $SEL_USER_DATA
  push $0x7800
  push %eax
  push $SEL_USER_CODE32
  push $(1f - hg_ports_cpl3_pm32_start + CODE)
  iret
1:
  mov $SEL_USER_DATA, %eax
  mov %eax, %ds
  mov %eax, %es
  P32 ports_cpl3_pm32
  in $0x80, %al
  mov %eax, MB_R0
  P32_END 0
  PROBE32 ports_cpl3_pm32, 1, out %al, $0x80
  mov $0x5c5, %edx
  P32 ports_cpl3_pm32
  in %dx, %eax
  mov %eax, MB_R1
  P32_END 2
  movl $0, MB_RESUME
AT ports_cpl3_pm32_hlt
  hlt
END ports_cpl3_pm32

/* ================================================================ string I/O */

  .code64
/* REP INSB with RCX = 2^64 - 1 from 5000 bytes below 4 GiB (guest RAM ends
   at 1 MiB: the empty bus takes the bytes): 5000 elements, then #PF at
   4 GiB, which the page tables do not map. */
SNIPPET rep_insb_long
  mov $-1, %rcx
  mov $0xffffec78, %edi      /* 4 GiB - 5000 */
  mov $0x5c0, %edx
  cld
  PROBE64 0, rep insb
  mov %rcx, MB_R0
  mov %rdi, MB_R1
AT rep_insb_long_done
  hlt
END rep_insb_long

/* REP OUTSW with DF = 1 and RCX = 2^64 - 1 from 0x3000 down: 6145 words,
   then RSI = 2^64 - 2, which nothing maps: #PF (a read). */
SNIPPET rep_outsw_down_long
  mov $-1, %rcx
  mov $0x3000, %esi
  mov $0x5c1, %edx
  std
  PROBE64 0, rep outsw
  cld
  mov %rcx, MB_R0
  mov %rsi, MB_R1
AT rep_outsw_down_long_done
  hlt
END rep_outsw_down_long

  .code32
/* REP INSD with ECX = 2^32 - 1 into the empty bus from 256 MiB: 4 billion
   elements, bounded per exit; the VMM's deadline ends it. */
SNIPPET rep_insd_runaway_pm32
  cli
  mov $0xffffffff, %ecx
  mov $0x10000000, %edi
  mov $0x5c4, %edx
  cld
AT rep_insd_runaway_pm32_insn
  rep insl
  hlt
END rep_insd_runaway_pm32

  .code16
/* ADDR32 REP INSB with ECX = 2^32 - 1 from ES:DI = 0:0xfff0: sixteen bytes
   below the 64 KiB limit, then #GP(0). */
SNIPPET rep_ins_limit_real
  mov $0xfff0, %edi
  mov $0xffffffff, %ecx
  mov $0x5c2, %dx
  cld
  PROBE16 rep_ins_limit_real, 0, .byte 0x67, 0xf3, 0x6c
  mov %ecx, %cs:MB_R0
  mov %edi, %cs:MB_R1
AT rep_ins_limit_real_done
  hlt
END rep_ins_limit_real

/* REP OUTSB with 16-bit addressing and CX = 0xffff from DS:SI = 0:0xfff0:
   SI wraps inside the segment (no fault). */
SNIPPET rep_outsb_wrap_real
  mov $0xffff, %cx
  mov $0xfff0, %si
  mov $0x5c3, %dx
  cld
  PROBE16 rep_outsb_wrap_real, 0, rep outsb
  mov %ecx, %cs:MB_R0
  mov %esi, %cs:MB_R1
AT rep_outsb_wrap_real_done
  hlt
END rep_outsb_wrap_real

/* ================================================================ MMIO */

  .code64
/* Read-modify-write and other unusual instructions on unassigned MMIO
   (the local APIC's page: no APIC here): each acts on all ones. */
SNIPPET mmio_rmw_long
  mov $0xfee00000, %ebx
  xor %eax, %eax
  xchg %eax, (%rbx)
  mov %rax, MB_R0            /* 0xffffffff */
  lock orl $1, 4(%rbx)
  lock andl $0, 4(%rbx)
  xor %ecx, %ecx
  lock xadd %ecx, 8(%rbx)
  mov %rcx, MB_R1            /* 0xffffffff */
  xor %eax, %eax
  xor %edx, %edx
  lock cmpxchg %edx, 12(%rbx)
  mov %rax, MB_R2            /* 0xffffffff: the comparison failed */
  setz %al
  movzbl %al, %eax
  mov %rax, MB_R3            /* 0 */
  lock btsl $3, 16(%rbx)
  setc %al
  movzbl %al, %eax
  mov %rax, MB_R4            /* 1 */
  incl 20(%rbx)
  notl 24(%rbx)
  negl 28(%rbx)
  movq $0x1234, 32(%rbx)
  mov 32(%rbx), %rax
  mov %rax, MB_R5            /* all ones */
  mov %rbx, %rsi
  mov $0x8000, %edi
  movq $0, (%rdi)
  cld
  movsq
  mov 0x8000, %rax
  mov %rax, MB_R6            /* all ones, copied into RAM */
  mov $1, %eax
  add 40(%rbx), %eax
  mov %rax, MB_R7            /* 1 + 0xffffffff = 0 */
  movw $0x5555, %ax
  xchg %ax, 0xfff(%rbx)      /* straddles into the next page: still nothing */
  mov %ax, MB_VALUES
AT mmio_rmw_long_done
  hlt
END mmio_rmw_long

/* Instructions vmrt cannot perform on MMIO (x87/SSE moves, CMPXCHG8B/16B,
   MUL): #UD each (vmrt/mmio.hpp). CR4.OSFXSR is set by the VMM. */
SNIPPET mmio_unemulated_long
  mov $0xfee00000, %ebx
  PROBE64 0, movaps (%rbx), %xmm0
  PROBE64 1, movups %xmm0, 16(%rbx)
  PROBE64 2, movdqu (%rbx), %xmm1
  PROBE64 3, movq (%rbx), %xmm2
  PROBE64 4, movd %xmm2, 32(%rbx)
  PROBE64 5, movntdq %xmm0, 64(%rbx)
  PROBE64 6, cmpxchg8b 80(%rbx)
  PROBE64 7, cmpxchg16b 96(%rbx)
  PROBE64 8, fldl 112(%rbx)
  PROBE64 9, mull 120(%rbx)
  movq $0, MB_RESUME
AT mmio_unemulated_long_done
  hlt
END mmio_unemulated_long

/* String moves between RAM and the empty bus; REP STOSQ with RCX = 2^64-1
   from 3000 quadwords below 4 GiB: bounded per exit, #PF at 4 GiB. */
SNIPPET mmio_strings_long
  cld
  mov $0xc0000000, %esi
  mov $0x8000, %edi
  mov $64, %ecx
  rep movsb                  /* 64 bytes of all ones into RAM */
  mov $0x8000, %esi
  mov $0xc0001000, %edi
  mov $64, %ecx
  rep movsb                  /* dropped */
  mov $0xc0000000, %esi
  lodsq
  mov %rax, MB_R0            /* all ones */
  mov $0xffffa240, %edi      /* 4 GiB - 3000 * 8 */
  mov $-1, %rcx
  P64
  mov $0x5555555555555555, %rax
  rep stosq
  P64_END 0
  mov %rcx, MB_R1
  mov %rdi, MB_R2
AT mmio_strings_long_done
  hlt
END mmio_strings_long

/* REP STOSQ into the empty bus up to 4 GiB, where nothing is mapped: #PF,
   and the handler resumes at the REP STOSQ, which faults again, for ever. */
SNIPPET pf_loop_long
  cli
  mov $0xffffa240, %edi      /* 4 GiB - 3000 * 8 */
  mov $-1, %rcx
  lea 1f(%rip), %rax
  mov %rax, MB_RESUME
1:
  rep stosq
  hlt
END pf_loop_long

/* Calling into the empty bus (MB_ARG0): it reads FF FF, an undefined
   encoding: #UD at the target. MB_R0 = RSP after the #UD. */
SNIPPET mmio_execute_long
  mov MB_ARG0, %rbx
  mov %rsp, %r15
  PROBE64 0, call *%rbx
  mov %rsp, MB_R0
  mov %r15, %rsp
AT mmio_execute_long_done
  hlt
END mmio_execute_long

/* A stack on the empty bus: on a PC what PUSH writes is lost and POP reads
   all ones; vmrt does not perform stack accesses on MMIO (#UD). The
   handlers run on IST1 (set by the VMM). */
SNIPPET mmio_stack_long
  mov %rsp, %r15
  mov $0xc0001000, %esp
  PROBE64 0, push $0x1234
  PROBE64 1, pop %rbx
  mov %r15, %rsp
  mov %rbx, MB_R0
AT mmio_stack_long_done
  hlt
END mmio_stack_long

/* Page tables on the empty bus: the walk reads all ones (reserved bits):
   #PF, which cannot be delivered either: a triple fault. */
SNIPPET mmio_page_tables_long
  mov $0x80000000, %eax
  mov %rax, %cr3
  nop
  hlt
END mmio_page_tables_long

/* An IDT on the empty bus: its gates read all ones; #UD cannot be
   delivered: a triple fault. */
SNIPPET mmio_idt_long
  lidt 1f(%rip)
  ud2
  hlt
1:
  .word 0xfff
  .quad 0xc0000000
END mmio_idt_long

  .code16
/* Real mode: DS = 0x7000 (not RAM): writes vanish, reads return all ones,
   XCHG / LOCK OR / LOCK CMPXCHG work on all ones, MOVSW copies all ones. */
SNIPPET mmio_real
  mov $0x7000, %ax
  mov %ax, %ds
  movb $0x12, (0x20)
  mov (0x20), %bl
  mov (0x22), %cx
  mov $0x55, %dl
  xchg %dl, (0x24)
  lock orw $1, (0x26)
  mov $0x12, %al
  lock cmpxchg %ah, (0x28)
  mov %al, %dh
  mov $0x30, %si
  mov $0x8000, %di
  movw $0, %es:(%di)
  cld
  movsw
  xor %ax, %ax
  mov %ax, %ds
  mov %bx, %cs:MB_R0         /* 0x..ff */
  mov %cx, %cs:MB_R1         /* 0xffff */
  mov %dx, %cs:MB_R2         /* 0xffff */
  mov %es:0x8000, %ax
  mov %ax, %cs:MB_R3         /* 0xffff */
AT mmio_real_done
  hlt
END mmio_real

  .code32
/* Protected mode, paging off: the same at 0xfec00000 (the I/O APIC's page). */
SNIPPET mmio_pm32
  mov $0xfec00000, %ebx
  movl $0x12, (%ebx)
  mov (%ebx), %ecx
  mov %ecx, MB_R0            /* all ones */
  mov $0x55, %edx
  xchg %edx, 4(%ebx)
  mov %edx, MB_R1            /* all ones */
  lock orl $1, 8(%ebx)
  xor %eax, %eax
  lock cmpxchg %ebx, 12(%ebx)
  mov %eax, MB_R2            /* all ones */
  mov %ebx, %esi
  mov $0x8000, %edi
  movl $0, (%edi)
  cld
  movsl
  mov 0x8000, %eax
  mov %eax, MB_R3            /* all ones */
AT mmio_pm32_done
  hlt
END mmio_pm32

/* ================================================================ gpa sweeps */

  .code64
/* For each range {first, end, stride} of MB_ENTRIES (MB_ARG0 of them): read
   8 bytes at every address, write 0 there, read again; both reads must
   give all ones. MB_R0 = addresses visited, MB_R1 = reads that did not. */
SNIPPET gpa_sweep_long
  mov MB_ARG0, %r8
  mov $MB_ENTRIES, %r9d
  xor %r10d, %r10d
  xor %r11d, %r11d
1:
  test %r8, %r8
  jz 9f
  mov (%r9), %rbx
  mov 8(%r9), %r12
  mov 16(%r9), %r13
2:
  cmp %r12, %rbx
  jae 3f
  mov (%rbx), %rax
  cmp $-1, %rax
  je 4f
  inc %r11
4:
  movq $0, (%rbx)
  mov (%rbx), %rax
  cmp $-1, %rax
  je 5f
  inc %r11
5:
  inc %r10
  add %r13, %rbx
  jmp 2b
3:
  add $24, %r9
  dec %r8
  jmp 1b
9:
  mov %r10, MB_R0
  mov %r11, MB_R1
AT gpa_sweep_long_done
  hlt
END gpa_sweep_long

  .code32
/* The same with 32-bit accesses, paging off (below 4 GiB). */
SNIPPET gpa_sweep_pm32
  mov MB_ARG0, %ebp
  mov $MB_ENTRIES, %esi
  xor %edi, %edi
  xor %edx, %edx
1:
  test %ebp, %ebp
  jz 9f
  mov (%esi), %ebx
  mov 8(%esi), %ecx
2:
  cmp %ecx, %ebx
  jae 3f
  mov (%ebx), %eax
  cmp $-1, %eax
  je 4f
  inc %edx
4:
  movl $0, (%ebx)
  mov (%ebx), %eax
  cmp $-1, %eax
  je 5f
  inc %edx
5:
  inc %edi
  add 16(%esi), %ebx
  jc 3f                      /* wrapped past 4 GiB */
  jmp 2b
3:
  add $24, %esi
  dec %ebp
  jmp 1b
9:
  mov %edi, MB_R0
  mov %edx, MB_R1
AT gpa_sweep_pm32_done
  hlt
END gpa_sweep_pm32

  .code16
/* Every page from 0x80000 to 0x10ffef through ES (0x8000..0xffff step
   0x100, then the high memory area at 0xffff:0x10 + n * 0x1000) with 16-bit
   accesses; guest RAM is 512 KiB. */
SNIPPET gpa_sweep_real
  xor %esi, %esi             /* pages */
  xor %edx, %edx             /* mismatches */
  mov $0x8000, %ax
1:
  mov %ax, %es
  xor %di, %di
  call .Lsweep16_page
  add $0x100, %ax
  jnc 1b
  mov $0xffff, %ax
  mov %ax, %es
  mov $0x10, %di
2:
  call .Lsweep16_page
  add $0x1000, %di
  jnc 2b
  xor %ax, %ax
  mov %ax, %es
  mov %esi, %cs:MB_R0
  mov %edx, %cs:MB_R1
AT gpa_sweep_real_done
  hlt
.Lsweep16_page:
  mov %es:(%di), %bx
  cmp $0xffff, %bx
  je 3f
  inc %edx
3:
  movw $0, %es:(%di)
  mov %es:(%di), %bx
  cmp $0xffff, %bx
  je 4f
  inc %edx
4:
  inc %esi
  ret
END gpa_sweep_real

/* ================================================================ MSRs */

  .code64
/* For each range {first, end, -} of MB_ENTRIES: RDMSR (MB_ARG1 = 0) or
   WRMSR 0xdeadbeef:cafebabe (MB_ARG1 = 1) of every index. MB_R0 = accesses
   without #GP, MB_R1 = accesses, MB_R2 = XOR of the values read. */
SNIPPET msr_sweep_long
  mov MB_ARG0, %r8
  mov $MB_ENTRIES, %r9d
  xor %r10d, %r10d
  xor %r11d, %r11d
  xor %r14d, %r14d
1:
  test %r8, %r8
  jz 9f
  mov (%r9), %r12
  mov 8(%r9), %r13
2:
  cmp %r13, %r12
  jae 3f
  lea 4f(%rip), %rax
  mov %rax, MB_RESUME
  mov %r12d, %ecx
  cmpq $0, MB_ARG1
  jne 5f
  rdmsr
  shl $32, %rdx
  mov %eax, %eax
  or %rdx, %rax
  xor %rax, %r14
  inc %r10
  jmp 4f
5:
  mov $0xcafebabe, %eax
  mov $0xdeadbeef, %edx
  wrmsr
  inc %r10
4:
  inc %r11
  inc %r12
  jmp 2b
3:
  add $24, %r9
  dec %r8
  jmp 1b
9:
  movq $0, MB_RESUME
  mov %r10, MB_R0
  mov %r11, MB_R1
  mov %r14, MB_R2
AT msr_sweep_long_done
  hlt
END msr_sweep_long

/* MB_ARG0 accesses {op, index, value} from MB_ENTRIES: op 0 RDMSR (the value
   read goes to MB_VALUES[i]), op 1 WRMSR value; the vector each raised to
   MB_PROBES[i]. */
SNIPPET msr_list_long
  mov MB_ARG0, %r8
  mov $MB_ENTRIES, %r9d
  xor %r10d, %r10d
1:
  cmp %r8, %r10
  jae 9f
  movl $0xff, MB_LAST_VECTOR
  movq $0, MB_VALUES(,%r10,8)
  lea 4f(%rip), %rax
  mov %rax, MB_RESUME
  mov 8(%r9), %ecx
  cmpq $0, (%r9)
  jne 5f
  rdmsr
  shl $32, %rdx
  mov %eax, %eax
  or %rdx, %rax
  mov %rax, MB_VALUES(,%r10,8)
  jmp 4f
5:
  mov 16(%r9), %rax
  mov %rax, %rdx
  shr $32, %rdx
  wrmsr
4:
  mov MB_LAST_VECTOR, %eax
  mov %eax, MB_PROBES(,%r10,4)
  add $24, %r9
  inc %r10
  jmp 1b
9:
  movq $0, MB_RESUME
AT msr_list_long_done
  hlt
END msr_list_long

  .code16
/* RDMSR of every index in [MB_ARG0, MB_ARG1) in real mode. MB_R0 = reads
   without #GP, MB_R1 = reads, MB_R2 = XOR of the values (low and high
   halves folded). */
SNIPPET msr_sweep_real
  mov %cs:MB_ARG0, %esi
  xor %edi, %edi
  xor %ebp, %ebp
  xor %ebx, %ebx
1:
  cmp %cs:MB_ARG1, %esi
  jae 9f
  movw $(4f - hg_msr_sweep_real_start + CODE), %cs:MB_RESUME
  mov %esi, %ecx
  rdmsr
  xor %eax, %ebx
  rol $7, %ebx
  xor %edx, %ebx
  inc %edi
4:
  inc %ebp
  inc %esi
  jmp 1b
9:
  movw $0, %cs:MB_RESUME
  mov %edi, %cs:MB_R0
  mov %ebp, %cs:MB_R1
  mov %ebx, %cs:MB_R2
AT msr_sweep_real_done
  hlt
END msr_sweep_real

/* ================================================================ CPUID */

  .code16
/* CPUID for each {leaf, subleaf} of MB_ENTRIES: MB_R0 = the checksum of
   vmtest::cpuid_checksum over the answers, MB_R1 = how many. */
SNIPPET cpuid_real
  mov %cs:MB_ARG0, %bp
  mov $MB_ENTRIES, %si
  xor %edi, %edi             /* checksum */
1:
  test %bp, %bp
  jz 9f
  mov %cs:(%si), %eax
  mov %cs:8(%si), %ecx
  cpuid
  rol $5, %edi
  xor %eax, %edi
  rol $5, %edi
  xor %ebx, %edi
  rol $5, %edi
  xor %ecx, %edi
  rol $5, %edi
  xor %edx, %edi
  add $24, %si
  dec %bp
  jmp 1b
9:
  mov %edi, %cs:MB_R0
  mov %cs:MB_ARG0, %eax
  mov %eax, %cs:MB_R1
AT cpuid_real_done
  hlt
END cpuid_real

  .code64
/* The same in long mode; CPUID must also zero bits 63:32 of RAX, RBX, RCX
   and RDX: MB_R2 counts answers where it did not. */
SNIPPET cpuid_long
  mov MB_ARG0, %r8
  mov $MB_ENTRIES, %r9d
  xor %edi, %edi
  xor %r10d, %r10d
  mov $0xa5a5a5a500000000, %r11
1:
  test %r8, %r8
  jz 9f
  mov (%r9), %rax
  or %r11, %rax
  mov 8(%r9), %rcx
  or %r11, %rcx
  mov %r11, %rbx
  mov %r11, %rdx
  cpuid
  mov %rax, %r12
  or %rbx, %r12
  or %rcx, %r12
  or %rdx, %r12
  shr $32, %r12
  jz 2f
  inc %r10
2:
  rol $5, %edi
  xor %eax, %edi
  rol $5, %edi
  xor %ebx, %edi
  rol $5, %edi
  xor %ecx, %edi
  rol $5, %edi
  xor %edx, %edi
  add $24, %r9
  dec %r8
  jmp 1b
9:
  mov %rdi, MB_R0
  mov MB_ARG0, %rax
  mov %rax, MB_R1
  mov %r10, MB_R2
AT cpuid_long_done
  hlt
END cpuid_long

/* ================================================================ virtualization instructions */

  .code64
/* Every virtualization instruction of both vendors, with garbage operands:
   #UD each (no nested virtualization), RDPMC #GP(0) (no counters). */
SNIPPET virt_insns_long
  mov $0x8000, %ebx          /* a page-aligned address of RAM: VMRUN, VMLOAD and VMSAVE check rAX before their intercept */
  P64
  mov %rbx, %rax
  vmrun
  P64_END 0
  P64
  mov %rbx, %rax
  vmload
  P64_END 1
  P64
  mov %rbx, %rax
  vmsave
  P64_END 2
  PROBE64 3, stgi
  PROBE64 4, clgi
  P64
  mov %rbx, %rax
  skinit
  P64_END 5
  P64
  mov %rbx, %rax
  invlpga
  P64_END 6
  PROBE64 7, vmxon (%rbx)
  PROBE64 8, vmxoff
  PROBE64 9, vmclear (%rbx)
  PROBE64 10, vmptrld (%rbx)
  PROBE64 11, vmptrst 0x8000
  PROBE64 12, vmread %rbx, %rcx
  PROBE64 13, vmwrite %rbx, %rcx
  PROBE64 14, vmlaunch
  PROBE64 15, vmresume
  PROBE64 16, invept (%rbx), %rcx
  PROBE64 17, invvpid (%rbx), %rcx
  P64
  mov $0x1234, %eax
  vmfunc
  P64_END 18
  PROBE64 19, getsec
  P64
  mov $0xdeadbeef, %eax
  mov $-1, %rcx
  vmcall
  P64_END 20
  P64
  mov $0xdeadbeef, %eax
  mov $-1, %rcx
  vmmcall
  P64_END 21
  PROBE64 22, rdpru
  P64
  xor %ecx, %ecx
  rdpmc
  P64_END 23
  P64
  mov $0x8000, %eax
  xor %ecx, %ecx
  xor %edx, %edx
  monitor
  P64_END 24
  P64
  xor %eax, %eax
  xor %ecx, %ecx
  mwait
  P64_END 25
  P64
  xor %ecx, %ecx
  xgetbv
  P64_END 26
  P64  /* VMRUN with rAX beyond the physical-address width */
  mov $0xdeadbeef000, %rax
  vmrun
  P64_END 27
  movq $0, MB_RESUME
AT virt_insns_long_done
  hlt
END virt_insns_long

  .code32
/* The same set in 32-bit protected mode (a subset that assembles there). */
SNIPPET virt_insns_pm32
  mov $0x8000, %ebx
  P32 virt_insns_pm32
  mov %ebx, %eax
  vmrun
  P32_END 0
  P32 virt_insns_pm32
  mov %ebx, %eax
  vmload
  P32_END 1
  P32 virt_insns_pm32
  mov %ebx, %eax
  vmsave
  P32_END 2
  PROBE32 virt_insns_pm32, 3, stgi
  PROBE32 virt_insns_pm32, 4, clgi
  PROBE32 virt_insns_pm32, 5, vmxon (%ebx)
  PROBE32 virt_insns_pm32, 6, vmptrld (%ebx)
  PROBE32 virt_insns_pm32, 7, vmlaunch
  PROBE32 virt_insns_pm32, 8, getsec
  P32 virt_insns_pm32
  mov $-1, %eax
  vmcall
  P32_END 9
  P32 virt_insns_pm32
  mov $-1, %eax
  vmmcall
  P32_END 10
  P32 virt_insns_pm32
  xor %ecx, %ecx
  rdpmc
  P32_END 11
  movl $0, MB_RESUME
AT virt_insns_pm32_done
  hlt
END virt_insns_pm32

  .code64
/* CR8, the task-priority register: what was written (bits 3:0) reads
   back. */
SNIPPET cr8_long
  mov $5, %ecx
  mov %rcx, %cr8
  mov %cr8, %rdx
  mov %rdx, MB_R0            /* 5 */
  mov $0xf, %ecx
  mov %rcx, %cr8
  mov %cr8, %rdx
  mov %rdx, MB_R1            /* 15 */
  xor %ecx, %ecx
  mov %rcx, %cr8
AT cr8_long_done
  hlt
END cr8_long

/* Control-register values the CPU refuses: #GP(0) each, nothing changes. */
SNIPPET control_regs_long
  mov %cr0, %rbx
  P64  /* NW without CD */
  mov %rbx, %rcx
  bts $29, %rcx
  btr $30, %rcx
  mov %rcx, %cr0
  P64_END 0
  P64  /* PG off in 64-bit code */
  mov %rbx, %rcx
  btr $31, %rcx
  mov %rcx, %cr0
  P64_END 1
  P64  /* reserved */
  mov %rbx, %rcx
  bts $32, %rcx
  mov %rcx, %cr0
  P64_END 2
  mov %cr4, %rbx
  P64  /* PAE off in long mode */
  mov %rbx, %rcx
  btr $5, %rcx
  mov %rcx, %cr4
  P64_END 3
  P64  /* VMXE (no VMX in CPUID) */
  mov %rbx, %rcx
  bts $13, %rcx
  mov %rcx, %cr4
  P64_END 4
  P64  /* reserved */
  mov %rbx, %rcx
  bts $32, %rcx
  mov %rcx, %cr4
  P64_END 5
  mov %cr3, %rbx
  P64  /* beyond the physical width */
  mov %rbx, %rcx
  bts $62, %rcx
  mov %rcx, %cr3
  P64_END 6
  P64  /* reserved TPR bits */
  mov $0x10, %ecx
  mov %rcx, %cr8
  P64_END 7
  mov %cr4, %rax
  mov %rax, MB_R1            /* unchanged */
  mov %cr0, %rax
  mov %rax, MB_R2            /* unchanged */
  movq $0, MB_RESUME
AT control_regs_long_done
  hlt
END control_regs_long

/* CR4.PKE is the kernel's, whatever CPUID says: setting it is #GP(0)
   through any register. Ordinary CR4 writes still take effect (on SVM with
   a PKU CPU they are the kernel's emulation), and a single-step trap
   follows one, with the guest's own #DB handler (below) seeing RIP after
   the MOV and DR6.BS. */
SNIPPET cr4_pke_long
  mov %cr4, %rbx
  mov %rbx, MB_R0            /* CR4 at the start */
  P64
  mov %rbx, %rcx
  bts $22, %rcx
  mov %rcx, %cr4
  P64_END 0
  mov %rbx, %rcx             /* a decoder that dropped REX.B would read RCX: valid */
  P64
  mov %rbx, %r9
  bts $22, %r9
  mov %r9, %cr4              /* REX.B: the kernel's decoder must find R9 */
  P64_END 1
  P64
  mov %rbx, %r10
  btc $7, %r10               /* PGE toggled: a valid write */
  mov %r10, %cr4
  P64_END 2
  mov %cr4, %rax
  mov %rax, MB_R1            /* the start with PGE toggled */
  P64
  mov %rbx, %cr4             /* back */
  P64_END 3
  mov %cr4, %rax
  mov %rax, MB_R2            /* the start */
  pushfq
  orq $0x100, (%rsp)
  popfq                      /* TF: the trap follows the next instruction */
  mov %r10, %cr4
AT cr4_pke_long_stepped
  nop
  mov %cr4, %rax
  mov %rax, MB_R5            /* the start with PGE toggled again */
  mov %rbx, %cr4
  P64                        /* the CPU's own refusals, checked by the */
  mov %rbx, %r11             /* kernel where it emulates CR4 writes: */
  bts $32, %r11              /* a reserved bit, */
  mov %r11, %cr4
  P64_END 5
  P64
  mov %rbx, %r11
  bts $13, %r11              /* VMXE, */
  mov %r11, %cr4
  P64_END 6
  P64
  mov %rbx, %r11
  btr $5, %r11               /* PAE off in long mode */
  mov %r11, %cr4
  P64_END 7
  PROBE64 8, rdpkru          /* CR4.PKE clear: #UD */
  P64
  xor %ecx, %ecx
  xor %edx, %edx
  xor %eax, %eax
  wrpkru                     /* #UD */
  P64_END 9
  mov %cr4, %rax
  mov %rax, MB_R7            /* unchanged */
  movq $0, MB_RESUME
AT cr4_pke_long_done
  hlt
AT cr4_pke_long_db_handler
  mov (%rsp), %rax           /* RIP of the trap */
  mov %rax, MB_R3
  mov %dr6, %rax
  mov %rax, MB_R4
  incl MB_R6
  andq $~0x100, 16(%rsp)     /* RFLAGS: TF off */
  iretq
END cr4_pke_long

/* EFER.LME set while paging and PAE are off: a valid state, but every exit
   from it left the guest's CR0 in the host under QEMU's TCG and hung the
   machine (guest_fuzz seed 11 program 23628). The SVM kernel now holds LME
   back while the guest runs and emulates its CR0 writes meanwhile. */
  .code32
SNIPPET lme_no_pae_pm32
  mov %cr0, %ebx
  mov %ebx, MB_R0            /* CR0 at the start */
  mov $0xc0000080, %ecx
  rdmsr
  bts $8, %eax               /* EFER.LME, paging and PAE off */
  wrmsr
  out %al, $0x80             /* exits from that state */
  xor %eax, %eax
  cpuid
  mov $0xc0000080, %ecx
  rdmsr
  mov %eax, MB_R1            /* EFER as the guest reads it */
  mov MB_R0, %ebx            /* CPUID clobbered it */
  mov %ebx, %eax
  or $0x8, %eax
  mov %eax, %cr0             /* TS on */
  mov %cr0, %eax
  mov %eax, MB_R2
  clts
  mov %cr0, %eax
  mov %eax, MB_R3            /* TS off */
  mov $0x2, %esi
  lmsw %si                   /* MP on */
  mov %cr0, %eax
  mov %eax, MB_R4
  mov %ebx, %cr0
  P32 lme_no_pae_pm32
  mov %ebx, %eax
  bts $31, %eax
  mov %eax, %cr0             /* paging on with LME and without PAE: #GP(0) */
  P32_END 0
  P32 lme_no_pae_pm32
  mov %ebx, %eax
  bts $29, %eax
  btr $30, %eax
  mov %eax, %cr0             /* NW without CD: #GP(0) */
  P32_END 1
  mov %cr0, %eax
  mov %eax, MB_R5            /* the start */
  mov %cr4, %eax
  bts $5, %eax
  mov %eax, %cr4             /* PAE on: LME no longer held back */
  out %al, $0x80
  btr $5, %eax
  mov %eax, %cr4             /* and off again */
  out %al, $0x80
  mov %cr4, %eax
  mov %eax, MB_R6
  pushf
  orl $0x100, (%esp)
  popf                       /* TF: the trap follows the next instruction */
  mov %ebx, %cr0
AT lme_no_pae_pm32_stepped
  nop
  movl $0, MB_RESUME
AT lme_no_pae_pm32_done
  hlt
AT lme_no_pae_pm32_db_handler
  mov (%esp), %eax           /* EIP of the trap */
  mov %eax, MB_VALUES
  mov %dr6, %eax
  mov %eax, MB_VALUES + 8
  incl MB_VALUES + 16        /* traps taken */
  andl $~0x100, 8(%esp)      /* EFLAGS: TF off */
  iret
END lme_no_pae_pm32

/* ================================================================ halts and spins */

  .code16
SNIPPET cli_hlt_real
  cli
AT cli_hlt_real_hlt
  hlt
  jmp hg_cli_hlt_real_hlt_at
END cli_hlt_real

SNIPPET spin_real
  cli
AT spin_real_jmp
  jmp .
END spin_real

  .code32
SNIPPET cli_hlt_pm32
  cli
AT cli_hlt_pm32_hlt
  hlt
  jmp hg_cli_hlt_pm32_hlt_at
END cli_hlt_pm32

SNIPPET spin_pm32
  cli
AT spin_pm32_jmp
  jmp .
END spin_pm32

  .code64
SNIPPET cli_hlt_long
  cli
AT cli_hlt_long_hlt
  hlt
  jmp hg_cli_hlt_long_hlt_at
END cli_hlt_long

SNIPPET spin_long
  cli
AT spin_long_jmp
  jmp .
END spin_long

/* Exits as fast as it can, with interrupts off: only the VMM's own
   deadline ends it. */
SNIPPET exit_storm_long
  cli
1:
  out %al, $0x80
  xor %eax, %eax
  cpuid
  incq MB_R0
  jmp 1b
END exit_storm_long

/* ================================================================ debug registers */

/* Leaves markers in DR0-DR3, DR6 and an armed DR7 (breakpoints on addresses
   it never touches), then halts. */
SNIPPET dr_write_long
  mov $0x1234567000, %rax
  mov %rax, %dr0
  inc %rax
  mov %rax, %dr1
  inc %rax
  mov %rax, %dr2
  inc %rax
  mov %rax, %dr3
  mov $0xffff0ff5, %eax
  mov %rax, %dr6
  mov $0x4ff, %eax           /* L0-3, G0-3: execution breakpoints */
  mov %rax, %dr7
AT dr_write_long_done
  hlt
END dr_write_long

/* Arms execution breakpoints at MB_ARG0..MB_ARG3 (DR0-DR3, L0-L3) and
   halts with them armed. */
SNIPPET dr_arm_long
  mov MB_ARG0, %rax
  mov %rax, %dr0
  mov MB_ARG1, %rax
  mov %rax, %dr1
  mov MB_ARG2, %rax
  mov %rax, %dr2
  mov MB_ARG3, %rax
  mov %rax, %dr3
  mov $0x455, %eax           /* L0-L3, execution breakpoints, GE */
  mov %rax, %dr7
AT dr_arm_long_done
  hlt
END dr_arm_long

/* Reads DR0-DR3, DR6, DR7 into MB_R0..MB_R5. */
SNIPPET dr_read_long
  mov %dr0, %rax
  mov %rax, MB_R0
  mov %dr1, %rax
  mov %rax, MB_R1
  mov %dr2, %rax
  mov %rax, MB_R2
  mov %dr3, %rax
  mov %rax, MB_R3
  mov %dr6, %rax
  mov %rax, MB_R4
  mov %dr7, %rax
  mov %rax, MB_R5
AT dr_read_long_done
  hlt
END dr_read_long

  .section .note.GNU-stack, "", @progbits
