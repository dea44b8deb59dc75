/* vm_tests' guest snippets. Each is data for the VMM: copied to guest-physical
   0x1000 (the IRQ handler to 0x1800) and run in the mode its test sets up.
   vt_<name>_start / vt_<name>_end delimit a snippet; vt_<label>_at marks the
   instruction a test expects an exit at (its offset from the start is the
   expected rip - 0x1000). Hypercalls are assembled as VMCALL and patched for
   the backend by the test. */
  .section .rodata.vm_tests_guests, "a"

.macro SNIPPET name
  .global vt_\name\()_start, vt_\name\()_end
  .balign 16
vt_\name\()_start:
.endm
.macro END name
vt_\name\()_end:
.endm
.macro AT label
  .global vt_\label\()_at
vt_\label\()_at:
.endm

  .code16
SNIPPET hlt
AT hlt
  hlt
END hlt

/* A guest that never exits: counts in ebx forever. */
SNIPPET spin
  xor %ebx, %ebx
AT spin
  inc %ebx
  jmp vt_spin_at
END spin

SNIPPET cpuid
  mov $0x80000000, %eax
  mov $5, %ecx
AT cpuid
  cpuid
AT cpuid_hlt
  hlt
END cpuid

SNIPPET rdmsr
  mov $0x4b564d01, %ecx
AT rdmsr
  rdmsr
AT rdmsr_hlt
  hlt
END rdmsr

SNIPPET wrmsr
  mov $0x4b564d02, %ecx
  mov $0xdeadbeef, %eax
  mov $0x12345678, %edx
AT wrmsr
  wrmsr
  hlt
END wrmsr

SNIPPET in
  mov $0x5a5, %dx
AT in
  in (%dx), %ax
  mov %ax, %bx
AT in_hlt
  hlt
END in

SNIPPET in_imm
AT in_imm
  in $0x71, %al
  hlt
END in_imm

SNIPPET out
  mov $0x12345678, %eax
  mov $0x5a6, %dx
AT out
  out %eax, (%dx)
  hlt
END out

SNIPPET outs
  mov $3, %cx
  mov $0x3000, %si
  mov $0x5a7, %dx
  cld
AT outs
  rep outsb
  hlt
END outs

SNIPPET ins
  mov $0x3000, %di
  mov $0x5a8, %dx
  cld
AT ins
  insw
  hlt
END ins

SNIPPET hypercall
  mov $0x42, %eax
AT hypercall
  vmcall
AT hypercall_hlt
  hlt
END hypercall

SNIPPET invd
AT invd
  invd
  hlt
END invd

SNIPPET wbinvd
AT wbinvd
  wbinvd
  hlt
END wbinvd

SNIPPET xsetbv
  xor %ecx, %ecx
  xor %edx, %edx
  mov $1, %eax
AT xsetbv
  xsetbv
  hlt
END xsetbv

SNIPPET ud
AT ud
  ud2
  hlt
END ud

SNIPPET de
  xor %bl, %bl
AT de
  div %bl
  hlt
END de

/* Reads guest-physical 0x30010 (not RAM until the test adds it). */
SNIPPET gpa_read
  mov $0x3000, %ax
  mov %ax, %ds
AT gpa_read
  mov (0x10), %al
AT gpa_read_hlt
  hlt
END gpa_read

/* Writes guest-physical 0x40020. */
SNIPPET gpa_write
  mov $0x4000, %ax
  mov %ax, %ds
AT gpa_write
  movb $1, (0x20)
  hlt
END gpa_write

/* Jumps to guest-physical 0x50000. */
SNIPPET gpa_exec
AT gpa_exec
  ljmp $0x5000, $0
END gpa_exec

/* Writes the page at 0x8000, which the test makes read-only. */
SNIPPET ro_write
AT ro_write
  movb $1, (0x8000)
AT ro_write_hlt
  hlt
END ro_write

/* Reads 0x9000 twice; the test unmaps it in between. */
SNIPPET unmap
  mov (0x9000), %al
AT unmap_hlt
  hlt
AT unmap_read
  mov (0x9000), %bl
AT unmap_hlt2
  hlt
END unmap

/* Waits for interrupts with IF set. */
SNIPPET irq_main
  sti
  nop
AT irq_main
1:
  hlt
  jmp 1b
END irq_main

/* The handler of vector 0x20 (IVT entry -> 0000:1800). */
SNIPPET irq_handler
  mov $0x42, %bl
AT irq_handler
  hlt
  iret
END irq_handler

/* An interrupt queued while IF = 0 is taken only after STI. */
SNIPPET irq_window
  cli
  mov $1, %cl
AT irq_window_out
  out %al, $0x80
  mov $7, %cl
  sti
  nop
  nop
1:
  hlt
  jmp 1b
END irq_window

/* An interrupt-window exit requested by the VMM. */
SNIPPET window_request
  cli
AT window_request_hlt
  hlt
  nop
AT window_request_sti
  sti
  nop
  nop
AT window_request_end
  hlt
END window_request

/* A real-mode interrupt beyond the IDT limit (the test sets the limit to 0):
   #GP, #DF, triple fault. */
SNIPPET triple
AT triple
  int $0x21
  hlt
END triple

/* Unknown ports read all ones (vmrt::handlers::io_unassigned). */
SNIPPET io_unassigned
  mov $0x1234, %ax
  mov $0x5b0, %dx
  in (%dx), %al
  mov %ax, %bx
  hlt
END io_unassigned

/* REP OUTSW with DF = 1: five words from 0x3008 down to 0x3000. The VMM
   moves at most two per exit, so the guest executes it three times. */
SNIPPET outs_down
  mov $5, %cx
  mov $0x3008, %si
  mov $0x5c1, %dx
  std
AT outs_down
  rep outsw
  cld
AT outs_down_hlt
  hlt
END outs_down

/* ADDR32 REP INSB with ECX = 2^32 - 1 from DI = 0xfff0: sixteen bytes fit
   below the 64 KiB ES limit, the seventeenth is a real-mode #GP (IVT 13). */
SNIPPET ins_limit
  mov $0xfff0, %edi
  mov $0xffffffff, %ecx
  mov $0x5c2, %dx
  cld
AT ins_limit
  .byte 0x67, 0xf3, 0x6c  /* addr32 rep insb */
  hlt
END ins_limit

/* A real-mode exception handler at 0x1800 that stops. */
SNIPPET stop_handler
AT stop_handler
  hlt
END stop_handler

/* Unassigned guest-physical memory (0x70000: DS = 0x7000) behaves like an
   empty PC bus: writes vanish, reads return all ones, read-modify-write
   instructions (XCHG, LOCK OR, LOCK CMPXCHG) work on all ones, MOVS copies
   all ones into RAM. */
SNIPPET mmio_empty
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
  mov $0x3000, %di
  cld
  movsw
  xor %ax, %ax
  mov %ax, %ds
AT mmio_empty_hlt
  hlt
END mmio_empty

/* WRMSR with values the CPU refuses, each answered with #GP by the VMM;
   the #GP handler (msr_gp_handler) counts in BX and skips the WRMSR. */
SNIPPET msr_bad
  xor %bx, %bx
  mov $0xc0000082, %ecx   /* LSTAR = 0x0000800000000000: not canonical */
  mov $0x00008000, %edx
  xor %eax, %eax
  wrmsr
  mov $0xc0000100, %ecx   /* FS_BASE, the same */
  wrmsr
  mov $0xc0000102, %ecx   /* KERNEL_GS_BASE, the same */
  wrmsr
  mov $0xc0000080, %ecx   /* EFER bit 1: reserved */
  xor %edx, %edx
  mov $2, %eax
  wrmsr
  mov $0x277, %ecx        /* PAT entry 0 = 2: a reserved memory type */
  mov $0x00070406, %edx
  mov $0x00070402, %eax
  wrmsr
  mov $0xc0000084, %ecx   /* SFMASK bits 63:32: reserved */
  mov $1, %edx
  xor %eax, %eax
  wrmsr
  mov $0x176, %ecx        /* SYSENTER_EIP = 0x0000800000000000: #GP on Intel only */
  mov $0x00008000, %edx
  xor %eax, %eax
  wrmsr
  mov $0xc0000082, %ecx   /* LSTAR = 0xffffffff81000000: fine */
  mov $0xffffffff, %edx
  mov $0x81000000, %eax
  wrmsr
AT msr_bad_hlt
  hlt
END msr_bad

/* Real-mode #GP handler for msr_bad: count and return past the WRMSR. */
SNIPPET msr_gp_handler
  inc %bx
  push %bp
  mov %sp, %bp
  addw $2, 2(%bp)
  pop %bp
  iret
END msr_gp_handler

  .code32
/* 32-bit protected mode: port I/O, then a bad selector load (#GP(0x1230)). */
SNIPPET pm32
AT pm32
  out %al, $0x80
  mov $0x1230, %eax
AT pm32_gp
  mov %ax, %ds
  hlt
END pm32

  .code64
/* 64-bit long mode: read through a 4 KiB mapping the test builds
   (gva 0x40000000 -> gpa 0x9000), report the byte, then read an identity-
   mapped address that is not guest RAM. */
SNIPPET long64
  mov $0x40000010, %ebx
  mov (%rbx), %rax
AT long64_out
  out %al, $0x80
  mov $0x300008, %ebx
AT long64_fault
  mov (%rbx), %rcx
  hlt
END long64

/* REP INSB with RCX = 2^64 - 1: the VMM moves a bounded number of bytes
   per exit and the guest executes the instruction again. */
SNIPPET ins_huge
  mov $-1, %rcx
  mov $0x4000, %edi
  mov $0x5c0, %dx
  cld
AT ins_huge
  rep insb
  hlt
END ins_huge

/* REP INSB running from the last 8 bytes of a mapped page (gva 0x40000ff8)
   into an unmapped one: #PF after 8 bytes, taken by pf_handler64. */
SNIPPET ins_pf
  mov $0x40000ff8, %edi
  mov $100, %ecx
  mov $0x5c3, %dx
  cld
AT ins_pf
  rep insb
  hlt
END ins_pf

/* 64-bit #PF handler at 0x1800: the error code into RAX, then stop. */
SNIPPET pf_handler64
  pop %rax
AT pf_handler64
  hlt
END pf_handler64

  .code16
  .section .note.GNU-stack, "", @progbits
