/* Multiboot entry: GRUB (multiboot2, from an ISO) or QEMU's -kernel
   (multiboot v1, kernel.bin: the image flattened by objcopy) leave us in
   32-bit protected mode, paging off, EAX = 0x36d76289 (multiboot2) or
   0x2badb002 (v1), EBX = physical address of the boot information.
   We build identity + direct-map + higher-half page tables with 2 MiB pages,
   enable PAE and long mode, and jump to kernel_start64 in the higher half.
   Multiboot2 specification 1.0, section 3.1; Multiboot 0.6.96, section 3.1;
   Intel SDM Vol. 3A, 10.8.5. */
#include "x86_64/long_mode_entry.h"

#define KERNEL_VIRT 0xffffffff80000000
#define MB2_MAGIC 0xe85250d6
#define MB1_MAGIC 0x1badb002
/* v1 flags: modules page aligned, memory map wanted, load addresses in the
   header (the a.out kludge: QEMU loads no ELF64 kernel otherwise) */
#define MB1_FLAGS ((1 << 0) | (1 << 1) | (1 << 16))
#define MB2_ARCH_I386 0
#define PTE_P 0x1
#define PTE_W 0x2
#define PTE_PCD 0x10
#define PTE_PS 0x80
#define PTE_G 0x100

  .section .multiboot2, "a"
  .align 8
mb2_header:
  .long MB2_MAGIC
  .long MB2_ARCH_I386
  .long mb2_header_end - mb2_header
  .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
  /* entry address tag (type 3): enter at the 32-bit physical entry point */
  .align 8
  .short 3, 0
  .long 12
  .long multiboot_entry
  /* end tag */
  .align 8
  .short 0, 0
  .long 8
mb2_header_end:

  /* Multiboot v1 header (within the first 8 KiB, 4-byte aligned): the
     addresses describe kernel.bin, whose first byte is __kernel_phys_start. */
  .align 4
mb1_header:
  .long MB1_MAGIC
  .long MB1_FLAGS
  .long -(MB1_MAGIC + MB1_FLAGS)
  .long mb1_header           /* header_addr */
  .long __kernel_phys_start  /* load_addr */
  .long __kernel_load_end    /* load_end_addr: the end of .data */
  .long __kernel_phys_end    /* bss_end_addr */
  .long multiboot_entry      /* entry_addr */

  .section .boot.bss, "aw", @nobits
  .align 4096
  .global boot_pml4              /* also the application processors' first tables (ap_boot.S) */
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096   /* PML4[0]: identity map of the first 1 GiB (boot only) */
boot_pdpt_dmap: .skip 4096   /* PML4[256]: direct map of the first 4 GiB */
boot_pdpt_high: .skip 4096   /* PML4[511]: kernel image at -2 GiB */
boot_pd:        .skip 4096 * 4  /* four page directories = 4 GiB of 2 MiB pages */
boot_stack:     .skip 4096
boot_stack_top:

  .section .boot.data, "aw"
  .align 16
boot_gdt:
  .quad 0
  .quad 0x00af9a000000ffff   /* 0x08: 64-bit kernel code */
  .quad 0x00cf92000000ffff   /* 0x10: kernel data */
boot_gdt_end:
boot_gdtr:
  .short boot_gdt_end - boot_gdt - 1
  .long boot_gdt

  .section .boot.text, "ax"
  .code32
  .global multiboot_entry
multiboot_entry:
  cli
  mov $boot_stack_top, %esp
  mov %eax, %edi              /* keep magic and info pointer for kernel_main */
  mov %ebx, %esi

  /* Four page directories map 0..4 GiB with 2 MiB pages; the top GiB
     (MMIO: LAPIC, IOAPIC) is uncached. */
  mov $boot_pd, %ebx
  xor %ecx, %ecx
1:
  mov %ecx, %eax
  shl $21, %eax               /* low 32 bits of ecx * 2 MiB */
  or $(PTE_P | PTE_W | PTE_PS | PTE_G), %eax
  cmp $1536, %ecx
  jb 2f
  or $PTE_PCD, %eax
2:
  mov %ecx, %edx
  shr $11, %edx               /* high bits: ecx * 2 MiB >> 32 */
  mov %eax, (%ebx, %ecx, 8)
  mov %edx, 4(%ebx, %ecx, 8)
  inc %ecx
  cmp $2048, %ecx
  jb 1b

  /* PDPT entries */
  mov $boot_pd, %eax
  or $(PTE_P | PTE_W), %eax
  mov %eax, boot_pdpt_low
  mov %eax, boot_pdpt_dmap
  mov %eax, boot_pdpt_high + 510 * 8
  add $4096, %eax
  mov %eax, boot_pdpt_dmap + 8
  add $4096, %eax
  mov %eax, boot_pdpt_dmap + 16
  add $4096, %eax
  mov %eax, boot_pdpt_dmap + 24

  /* PML4 entries */
  mov $boot_pdpt_low, %eax
  or $(PTE_P | PTE_W), %eax
  mov %eax, boot_pml4
  mov $boot_pdpt_dmap, %eax
  or $(PTE_P | PTE_W), %eax
  mov %eax, boot_pml4 + 256 * 8
  mov $boot_pdpt_high, %eax
  or $(PTE_P | PTE_W), %eax
  mov %eax, boot_pml4 + 511 * 8

  mov $boot_pml4, %eax
  mov %eax, %cr3

  ENABLE_LONG_MODE_PAGING

  lgdt boot_gdtr
  ljmp $0x08, $boot_long_mode

  .code64
boot_long_mode:
  mov $0x10, %ax
  mov %ax, %ds
  mov %ax, %es
  mov %ax, %ss
  xor %ax, %ax
  mov %ax, %fs
  mov %ax, %gs
  movabs $kernel_start64, %rax
  jmp *%rax

  .text
  .global kernel_start64
kernel_start64:
  movabs $kernel_stack_top, %rsp
  xor %rbp, %rbp
  /* edi = multiboot magic, esi = physical info pointer (zero-extended) */
  mov %edi, %edi
  mov %esi, %esi
  call kernel_main
3:
  cli
  hlt
  jmp 3b

  .bss
  .align 16
  .global kernel_stack_bottom
kernel_stack_bottom:
  .skip 16384
  .global kernel_stack_top
kernel_stack_top:

