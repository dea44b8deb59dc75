/* Entry of mbtest, the Multiboot (v1) test kernel (README.md here): the
   Multiboot header and the 32-bit entry point. A Multiboot loader enters
   with EAX = 0x2BADB002, EBX = the multiboot_info structure, flat 32-bit
   segments, paging and interrupts off, ESP undefined (Multiboot 0.6.96,
   §3.2). Assembled twice: as is (an ELF kernel: the loader reads the
   program headers) and with -DAOUT_KLUDGE (flags bit 16: the header's
   address fields say what to load, for a flat binary). */

#define MB_MAGIC 0x1BADB002
#ifdef AOUT_KLUDGE
#define MB_FLAGS 0x00010003   /* page-aligned modules, memory info, address fields */
#else
#define MB_FLAGS 0x00000003   /* page-aligned modules, memory info */
#endif

  .section .multiboot, "a"
  .align 4
mb_header:
  .long MB_MAGIC
  .long MB_FLAGS
  .long -(MB_MAGIC + MB_FLAGS)
#ifdef AOUT_KLUDGE
  .long mb_header        /* header_addr */
  .long __load_start     /* load_addr */
  .long __load_end       /* load_end_addr */
  .long __bss_end        /* bss_end_addr */
  .long _start           /* entry_addr */
#else
  .long 0, 0, 0, 0, 0    /* unused without flags bit 16: both builds keep the same layout */
#endif

  .text
  .code32
  .global _start
_start:
  cli
  mov $stack_top, %esp
  push %ebx              /* the multiboot_info */
  push %eax              /* the loader's magic */
  call mbtest_main       /* does not return */
1:
  hlt
  jmp 1b

  .bss
  .align 16
  .space 16384
stack_top:

  .section .note.GNU-stack, "", @progbits
